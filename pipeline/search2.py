"""DVC stage `search2@dataset-setting`: 16-config search on validation data, the winner rerun with every seed."""

from pathlib import Path

import click

from pipeline._common import data_option, params_option, stage
from pipeline._written import files, read_summaries, run_stats, wrote
from pipeline.config import load_params
from pipeline.subpop.stages import search


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
    p = load_params(params_path)
    choice = search(p, dataset, setting, data, sweep_dir, out_dir, scores)
    best = choice["best"]
    finals = [Path(out_dir) / f"seed{s}.json" for s in p.subpop.seeds]
    wrote([f"{Path(sweep_dir) / 'selected.json'} and {files(finals)}"],
          f"{len(choice['candidates'])} configs; best config {best['config']}: {choice['metric']} "
          f"{100 * best['value']:.1f}; the winner: {run_stats(read_summaries(finals), 'test_wga')}")


if __name__ == "__main__":
    main()
