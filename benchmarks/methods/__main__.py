"""`python -m benchmarks.methods` (`make bench-methods`, DVC stage `benchmark_methods`): measure every row of a study
on one of its datasets and write ``metrics/benchmarks_methods.json`` and ``reports/benchmarks_methods.md``."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.methods import column_seconds, measure
from benchmarks.methods.report import to_markdown
from gerne.io import read_json, write_json, write_text
from pipeline.config import load_params


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--study", default="table1", show_default=True, help="Study whose rows are measured.")
@click.option("--dataset", default="cmnist", show_default=True, help="One of the study's datasets.")
@click.option("--data", default="data/cmnist/r0.5", show_default=True, type=click.Path(file_okay=False))
@click.option("--steps", default=30, show_default=True, type=click.IntRange(1), help="Steps per timed block.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1))
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@click.option("--json", "json_path", default="metrics/benchmarks_methods.json", show_default=True)
@click.option("--out", default="reports/benchmarks_methods.md", show_default=True)
@click.option("--from-json", "from_json", is_flag=True, help="Measure nothing: render --json and price the "
              "study's column of --params at its measured run prices.")
@click.option("--measure-only", is_flag=True, help="Write the --json measurement only (the `benchmark_methods_report` "
              "stage renders and prices it).")
def main(params_path: str, study: str, dataset: str, data: str, steps: int, rounds: int, device: str,
         json_path: str, out: str, from_json: bool, measure_only: bool) -> None:
    """Measure every method of a study against its floor and write the report."""
    p = load_params(params_path)
    if not from_json:
        if study not in p.studies.tables or dataset not in p.studies.tables[study].datasets:
            raise click.BadParameter(f"'{dataset}' is not a dataset of study '{study}' in {params_path}",
                                     param_hint="--dataset")
        if not Path(data).is_dir():
            raise click.BadParameter(f"directory '{data}' does not exist; build it first (`dvc repro data`)",
                                     param_hint="--data")
        write_json(json_path, measure(p, study, dataset, data, steps, rounds, device))
        if measure_only:
            click.echo(f"wrote {json_path}")
            return
    result = read_json(json_path)
    text = to_markdown(result, *column_seconds(p, result["study"], {r["row"]: r["run_s"] for r in result["rows"]}))
    write_text(out, text)
    click.echo(text)


if __name__ == "__main__":
    main()
