"""DVC stage `table3@dataset`: CelebA trained on its validation split only (Appendix G)."""

import click

from pipeline._common import data_option, params_option, stage
from pipeline._written import run_stats, wrote
from pipeline.config import load_params
from pipeline.subpop.stages import table3


@click.command()
@params_option
@data_option
@click.option("--dataset", default="celeba", show_default=True)
@click.option("--out-dir", required=True, type=click.Path(file_okay=False))
@stage
def main(params_path: str, data: str, dataset: str, out_dir: str) -> None:
    """Train on all of val and by group-stratified cross-validation on val; every seed."""
    summaries = table3(load_params(params_path), data, out_dir, dataset)
    wrote([f"{out_dir}/full/seed*.json", f"{out_dir}/cv/fold*-seed*.json"], run_stats(summaries, "test_wga"))


if __name__ == "__main__":
    main()
