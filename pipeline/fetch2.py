"""DVC stage `fetch2@dataset`: download (or copy from a mirror), verify and extract a Datasets-2 release."""

import click

from pipeline._common import params_option, stage
from pipeline._written import wrote
from pipeline.config import load_params
from pipeline.subpop.stages import fetch


@click.command()
@params_option
@click.option("--dataset", required=True, help="waterbirds, celeba or civilcomments.")
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False), help="Where the release goes.")
@stage
def main(params_path: str, dataset: str, raw_dir: str) -> None:
    """Fetch the release files of DATASET into RAW_DIR and record their checksums."""
    sums = fetch(load_params(params_path), dataset, raw_dir)
    wrote([raw_dir], f"{dataset}: {len(sums)} release file(s) verified, checksums in {raw_dir}/checksums.json")


if __name__ == "__main__":
    main()
