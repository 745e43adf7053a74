"""DVC stage `search2@dataset-setting`: 16-config search on validation data, the winner rerun with every seed."""

import click

from gerne.config import load_params
from gerne.subpop.stages import search
from pipeline._common import data_option, params_option, stage


@click.command()
@params_option
@data_option
@click.option("--dataset", required=True)
@click.option("--setting", required=True, help="yes_yes, no_yes or no_no (train/val attributes).")
@click.option("--scores", default=None, type=click.Path(dir_okay=False), help="Biased-model scores (no_* settings).")
@click.option("--sweep-dir", required=True, type=click.Path(file_okay=False))
@click.option("--out-dir", required=True, type=click.Path(file_okay=False))
@stage
def main(params_path: str, data: str, dataset: str, setting: str, scores: str | None, sweep_dir: str,
         out_dir: str) -> None:
    """Run the search of DATASET in SETTING (resumable), then the winner with every seed."""
    search(load_params(params_path), dataset, setting, data, sweep_dir, out_dir, scores)


if __name__ == "__main__":
    main()
