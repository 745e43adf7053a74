"""DVC stage `prepare2@dataset`: a Datasets-2 release → the dataset contract (pre-resized arrays, counts checked)."""

import click

from gerne.config import load_params
from gerne.subpop.stages import prepare
from pipeline._common import params_option, stage


@click.command()
@params_option
@click.option("--dataset", required=True, help="waterbirds, celeba or civilcomments.")
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Prepared dataset directory.")
@stage
def main(params_path: str, dataset: str, raw_dir: str, out: str) -> None:
    """Prepare DATASET from RAW_DIR into OUT and assert the published (or configured) group counts."""
    prepare(load_params(params_path), dataset, raw_dir, out)


if __name__ == "__main__":
    main()
