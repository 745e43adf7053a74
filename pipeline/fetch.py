"""DVC stage `fetch@<dataset>`: download (or copy from its mirror), verify and extract a declared release."""


import click

from pipeline._common import dataset_option, params_option, stage
from pipeline._written import wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import fetch


@click.command()
@params_option
@dataset_option
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False), help="Where the release goes.")
@stage
def main(params_path: str, dataset: str, raw_dir: str) -> None:
    """Fetch the release files of DATASET into RAW_DIR and record their checksums."""
    p = load_planned(params_path)
    sums = fetch(p, dataset, raw_dir)
    wrote([raw_dir], f"{dataset}: {len(sums)} release file(s) verified, checksums in {raw_dir}/checksums.json")


if __name__ == "__main__":
    main()
