"""DVC stage `reproduction@<study>`: reports/REPRODUCTION.md from the Table 1 CSV, split counts, sweeps and run
summaries."""

from pathlib import Path

import click

from gerne.io import write_text
from pipeline._common import params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.plan import load_planned
from pipeline.reports.reproduction import build
from pipeline.reports.study import columns


def _common(folders: list[str]) -> str:
    """The deepest folder holding every one of ``folders``."""
    import os

    return os.path.commonpath(folders)


@click.command()
@params_option
@click.option("--study", default="table1", show_default=True, help="The study reported as Table 1.")
@click.option("--table", default="reports/table1_cmnist.csv", show_default=True,
              type=click.Path(dir_okay=False, exists=True))
@click.option("--runs-table", default="metrics/cmnist_runs.csv", show_default=True,
              type=click.Path(dir_okay=False, exists=True), help="The aggregate stage's per-run table.")
@click.option("--metrics", default="metrics", show_default=True, type=click.Path(file_okay=False))
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", default="reports/REPRODUCTION.md", show_default=True, type=click.Path(dir_okay=False))
@stage
def main(params_path: str, study: str, table: str, runs_table: str, metrics: str, runs: str, out: str) -> None:
    """Write the reproduction summary."""
    p = load_planned(params_path)
    cols = [c for c in columns(p, study) if c.benchmark == "cmnist"]  # this report is C-MNIST's (Table 1 and Figs.)
    tuned = [r for r in p.studies.tables[study].rows if p.studies.rows[r].search != "none"]
    sweeps = [(c.ratio, Path(runs) / "sweeps" / c.folder / row) for c in cols for row in tuned]
    figure = p.datasets[p.figures.dataset].minority_percent() if p.figures is not None else cols[0].ratio
    spent = [Path(runs) / _common([c.folder for c in cols]), Path(runs) / "sweeps" / _common([c.folder for c in cols])]
    text = build(Path(table), Path(runs_table), spent, {c.ratio: Path(metrics) / c.folder for c in cols},
                 {c.ratio: Path(runs) / c.folder for c in cols}, sweeps, p.datasets[cols[0].dataset].epochs,
                 figure)
    write_text(out, text)
    log_to_mlflow(f"report-{Path(out).stem}", [out])
    wrote([out], f"{len(text.splitlines())} lines; logged to MLflow")


if __name__ == "__main__":
    main()
