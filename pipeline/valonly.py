"""DVC stage `valonly@<dataset>` (Table 3, Appendix G): GERNE trained on the validation split only."""


import click

from pipeline._common import data_option, params_option, stage
from pipeline._written import run_stats, wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import table3


@click.command()
@params_option
@data_option
@click.option("--dataset", required=True, help="A declared dataset (celeba).")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False))
@stage
def main(params_path: str, data: str, dataset: str, out_dir: str) -> None:
    """Train on all of val (full) and on group-stratified folds of it (cv), every seed."""
    p = load_planned(params_path)
    summaries = table3(p, data, out_dir, dataset)
    wrote([out_dir], run_stats(summaries, "test_wga", "oracle"))


if __name__ == "__main__":
    main()
