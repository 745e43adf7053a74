"""DVC stage `fetch2@dataset`: download (or copy from a mirror), verify and extract a Datasets-2 release."""

import click

from gerne.config import load_params
from gerne.subpop.stages import fetch
from pipeline._common import params_option, stage


@click.command()
@params_option
@click.option("--dataset", required=True, help="waterbirds, celeba or civilcomments.")
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False), help="Where the release goes.")
@stage
def main(params_path: str, dataset: str, raw_dir: str) -> None:
    """Fetch the release files of DATASET into RAW_DIR and record their checksums."""
    fetch(load_params(params_path), dataset, raw_dir)


if __name__ == "__main__":
    main()
