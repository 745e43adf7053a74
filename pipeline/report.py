"""DVC stage `report@<study>`: Table 1's C-MNIST column (markdown + CSV) and Table 1 with every benchmark's columns
beside the paper's values, the headline metrics file of `dvc exp show`, and the tables logged to MLflow."""

from pathlib import Path

import click
import pandas as pd

from gerne.data.registry import benchmark_classes
from gerne.io import atomic_path, write_json, write_text
from pipeline._common import params_option, stage
from pipeline._written import log_to_mlflow
from pipeline.plan import load_planned
from pipeline.reports import table1
from pipeline.reports.study import columns, row_attributes
from pipeline.reports.table import headline, paper_targets, to_markdown


@click.command()
@params_option
@click.option("--study", default="table1", show_default=True, help="The study reported as Table 1.")
@click.option("--runs-table", required=True, type=click.Path(dir_okay=False, exists=True), help="Aggregate CSV.")
@click.option("--out", required=True, help="C-MNIST's table: path without extension (.md and .csv are written).")
@click.option("--full", required=True, help="Table 1 with every benchmark: path without extension (.md, .csv).")
@click.option("--headline", "headline_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the headline test GBA/WGA per cell (best_val selection) as JSON here.")
@stage
def main(params_path: str, study: str, runs_table: str, out: str, full: str, headline_path: str | None) -> None:
    """Write <out>.md and <out>.csv, <full>.md and <full>.csv (and the headline JSON), and log them to MLflow."""
    p = load_planned(params_path)
    runs = pd.read_csv(runs_table)
    everything = table1.summary(runs)
    cmnist = everything[everything["benchmark"] == "cmnist"]  # C-MNIST's own table: the same cells, its columns
    table = cmnist.drop(columns=["benchmark", "metric"]).reset_index(drop=True)
    attrs, n_seeds = row_attributes(p, study), len(p.studies.seeds)
    ratios = [c.ratio for c in columns(p, study) if c.benchmark == "cmnist"]
    for path, frame in ((f"{out}.csv", table), (f"{full}.csv", everything)):
        with atomic_path(Path(path)) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")
    write_text(f"{out}.md", to_markdown(table, paper_targets("cmnist"), attrs, ratios, n_seeds,
                                        "Table 1 — C-MNIST (reproduction)", benchmark_classes("cmnist")))
    write_text(f"{full}.md", table1.to_markdown(everything, attrs, n_seeds))
    written = [f"{out}.md", f"{out}.csv", f"{full}.md", f"{full}.csv"]
    if headline_path:
        write_json(headline_path, headline(everything, p.studies.tables[study].headline))
        written.append(headline_path)
    log_to_mlflow(f"report-{Path(out).name}", written)
    click.echo(f"wrote {', '.join(written)} ({len(table)} cells) and logged them to MLflow", err=True)


if __name__ == "__main__":
    main()
