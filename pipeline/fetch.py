"""DVC stage `fetch@<dataset>`: download (or copy from its mirror), verify and extract a declared release."""

from pathlib import Path

import click

from pipeline._common import params_option, stage
from pipeline._written import wrote
from pipeline.config import load_params
from pipeline.plan import PLAN, check_plan
from pipeline.studies.stages import fetch


@click.command()
@params_option
@click.option("--dataset", required=True, help="A declared dataset (params.yaml: datasets).")
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False), help="Where the release goes.")
@stage
def main(params_path: str, dataset: str, raw_dir: str) -> None:
    """Fetch the release files of DATASET into RAW_DIR and record their checksums."""
    p = load_params(params_path)
    check_plan(p, Path(params_path).parent / PLAN)
    sums = fetch(p, dataset, raw_dir)
    wrote([raw_dir], f"{dataset}: {len(sums)} release file(s) verified, checksums in {raw_dir}/checksums.json")


if __name__ == "__main__":
    main()
