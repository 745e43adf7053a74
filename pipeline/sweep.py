"""DVC stage `sweep@<dataset>-<row>`: a row's search (its grid, or the seeded random search) on validation data
only, then the winner with every seed."""

from pathlib import Path

import click

from gerne import layout
from pipeline._common import data_option, dataset_option, params_option, stage
from pipeline._written import files, read_summaries, run_stats, wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import search


@click.command()
@params_option
@dataset_option
@click.option("--row", required=True, help="A row of studies.rows that searches (gerne_tuned_known, no_yes, …).")
@data_option
@click.option("--input", "upstream", default=None, type=click.Path(dir_okay=False),
              help="The reference scores (pseudo-attribute rows), its checkpoint (DFR) or the dataset's counts.")
@click.option("--sweep-dir", required=True, type=click.Path(file_okay=False), help="One folder per config.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="The winner's seed<seed>.json.")
@stage
def main(params_path: str, dataset: str, row: str, data: str, upstream: str | None, sweep_dir: str,
         out_dir: str) -> None:
    """Train every config of ROW's search once, pick the best on validation data, rerun it with every seed."""
    p = load_planned(params_path)
    choice = search(p, dataset, row, data, sweep_dir, out_dir, upstream)
    best = choice["best"]
    finals = [layout.summary(out_dir, s) for s in p.studies.seeds]
    wrote([f"{Path(sweep_dir) / 'selected.json'} and {files(finals)}"],
          f"{len(choice['candidates'])} configs, {len(choice['skipped'])} outside Eq. 9 skipped; best "
          f"{best['name']}: {choice['metric']} {100 * best['value']:.1f}; the winner: "
          f"{run_stats(read_summaries(finals), p.datasets[dataset].oracle_metric)}")


if __name__ == "__main__":
    main()
