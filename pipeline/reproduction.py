"""DVC stage `reproduction`: reports/REPRODUCTION.md from the Table 1 CSV, split counts, sweeps and run summaries."""

from pathlib import Path

import click

from gerne.io import write_text
from pipeline._common import params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.config import load_params
from pipeline.reports.reproduction import build


@click.command()
@params_option
@click.option("--table", default="reports/table1_cmnist.csv", show_default=True,
              type=click.Path(dir_okay=False, exists=True))
@click.option("--runs-table", default="metrics/cmnist_runs.csv", show_default=True,
              type=click.Path(dir_okay=False, exists=True), help="The aggregate stage's per-run table.")
@click.option("--metrics", default="metrics/cmnist", show_default=True, type=click.Path(file_okay=False))
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", default="reports/REPRODUCTION.md", show_default=True, type=click.Path(dir_okay=False))
@stage
def main(params_path: str, table: str, runs_table: str, metrics: str, runs: str, out: str) -> None:
    """Write the reproduction summary."""
    p = load_params(params_path)
    text = build(Path(table), Path(metrics), Path(runs), p.cmnist.ratios, p.train.epochs, Path(runs_table),
                 p.figures.ratio if p.figures is not None else p.cmnist.ratios[0])
    write_text(out, text)
    log_to_mlflow(f"report-{Path(out).stem}", [out])
    wrote([out], f"{len(text.splitlines())} lines; logged to MLflow")


if __name__ == "__main__":
    main()
