"""DVC stage `prepare2@dataset`: a Datasets-2 release → the dataset contract (pre-resized arrays, counts checked)."""

import click

from pipeline._common import params_option, stage
from pipeline._written import split_sizes, wrote
from pipeline.config import load_params
from pipeline.subpop.stages import prepare


@click.command()
@params_option
@click.option("--dataset", required=True, help="waterbirds, celeba or civilcomments.")
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Prepared dataset directory.")
@stage
def main(params_path: str, dataset: str, raw_dir: str, out: str) -> None:
    """Prepare DATASET from RAW_DIR into OUT and assert the published (or configured) group counts."""
    result = prepare(load_params(params_path), dataset, raw_dir, out)
    wrote([out], f"{dataset}: {split_sizes(result['counts'])} samples (train / val / test), group counts checked, "
                 f"{result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
