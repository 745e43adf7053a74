"""`python -m benchmarks.methods` (`make bench-methods`, DVC stage `benchmark_methods`): measure every row of a study
on one of its datasets and write ``metrics/benchmarks_methods.json``; the `benchmark_report` stage renders it into
``reports/benchmarks.md`` (``python -m benchmarks.run --from-json metrics/benchmarks.json --methods …``)."""

from __future__ import annotations

from pathlib import Path

import click

from benchmarks.methods import measure
from benchmarks.methods.report import to_markdown
from gerne.io import write_json
from gerne.system import keep_large_allocations
from pipeline.config import load_params


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--study", default="table1", show_default=True, help="Study whose rows are measured.")
@click.option("--dataset", default="cmnist", show_default=True, help="One of the study's datasets.")
@click.option("--data", default="data/cmnist/r0.5", show_default=True, type=click.Path(file_okay=False))
@click.option("--steps", default=30, show_default=True, type=click.IntRange(1), help="Steps per timed block.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1))
@click.option("--stack", default=None, type=click.IntRange(1), help="Runs of a stackable row timed as one stacked "
              "model (1: none)  [default: the study's seeds]")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@click.option("--json", "json_path", default="metrics/benchmarks_methods.json", show_default=True)
def main(params_path: str, study: str, dataset: str, data: str, steps: int, rounds: int, stack: int | None,
         device: str, json_path: str) -> None:
    """Measure every method of a study against its floor; write --json and print the report's section."""
    p = load_params(params_path)
    if study not in p.studies.tables or dataset not in p.studies.tables[study].datasets:
        raise click.BadParameter(f"'{dataset}' is not a dataset of study '{study}' in {params_path}",
                                 param_hint="--dataset")
    if not Path(data).is_dir():
        raise click.BadParameter(f"directory '{data}' does not exist; build it first (`dvc repro data`)",
                                 param_hint="--data")
    tuned = keep_large_allocations()  # as every training stage does: the steps run under the pipeline's allocator
    result = {**measure(p, study, dataset, data, steps, rounds, device, stack or len(p.studies.seeds)),
              "malloc_tuned": tuned}
    write_json(json_path, result)
    click.echo(to_markdown(result, p))
    click.echo(f"wrote {json_path}")


if __name__ == "__main__":
    main()
