"""DVC stage `build@<ratio>`: Colored MNIST at one bias-conflicting ratio, in the dataset contract."""

import click

from gerne.data.cmnist import build_cmnist
from gerne.io import write_json
from pipeline._common import params_option, ratio_option, stage
from pipeline._written import split_sizes, wrote
from pipeline.config import load_params


@click.command()
@params_option
@ratio_option
@click.option("--raw", required=True, type=click.Path(file_okay=False), help="Directory with the MNIST files.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output dataset directory.")
@click.option("--counts", required=True, type=click.Path(dir_okay=False), help="Group-count metrics file.")
@stage
def main(params_path: str, ratio: float, raw: str, out: str, counts: str) -> None:
    """Build C-MNIST (55,000 / 5,000 / 10,000, unbiased test) and record the realised group counts."""
    p = load_params(params_path)
    c = p.cmnist
    result = build_cmnist(raw, out, ratio_percent=p.ratio(ratio), std=c.color_std, val_size=c.val_size, seed=c.seed)
    write_json(counts, result)
    wrote([out, counts], f"C-MNIST {ratio} %: {split_sizes(result)} images")


if __name__ == "__main__":
    main()
