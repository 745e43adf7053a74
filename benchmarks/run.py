"""`make bench`: measure training speed on C-MNIST and write reports/benchmarks.md (+ JSON, + an MLflow run)."""

from pathlib import Path

import click

from gerne.bench.suite import run_suite, to_markdown
from gerne.config import Params, load_params
from gerne.io import write_json, write_text
from gerne.runs.common import resolve_device
from gerne.tracking import Tracker


def column_runs(p: Params) -> int:
    """Training runs `dvc repro` makes for the C-MNIST column: table rows, sweep points, Fig. 2, biased models."""
    from gerne.runs.sweep import grid

    ratios, seeds = len(p.cmnist.ratios), len(p.train.seeds)
    n = ratios * len(p.table_settings()) * seeds + ratios
    if p.sweep is not None:
        n += ratios * sum(len(grid(p, kind)) for kind in ("known", "unknown"))
    if p.figures is not None:
        n += len(p.figures.fig2_settings) * seeds
    return n


@click.command()
@click.option("--data", default="data/cmnist/r0.5", show_default=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", default="reports/benchmarks.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--json", "json_path", default="metrics/benchmarks.json", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--epochs", default=2, show_default=True, type=int, help="Epochs timed per measurement.")
@click.option("--stack", default=3, show_default=True, type=int, help="Runs stacked in the stacking test.")
@click.option("--params", "params_path", default="params.yaml", show_default=True, help="Design to price.")
@click.option("--track/--no-track", default=True, show_default=True, help="Log the result as an MLflow run.")
def main(data: str, out: str, json_path: str, device: str, epochs: int, stack: int, params_path: str,
         track: bool) -> None:
    """Print the benchmark table and write it to --out."""
    result = run_suite(data, resolve_device(device), epochs=epochs, stack=stack,
                       column_runs=column_runs(load_params(params_path)))
    text = to_markdown(result)
    click.echo(text)
    write_text(out, text)
    write_json(json_path, result)
    if not track:  # e.g. on a GPU machine without MLflow installed
        return
    with Tracker("benchmarks").run(f"bench-{result['device']}", params={"data": data, "epochs": epochs},
                                   tags={"stage": "benchmark", "machine": result["machine"]}) as run:
        run.log_metrics({k: v for k, v in result.items() if isinstance(v, float)}, step=0)
        run.log_artifact(Path(out))


if __name__ == "__main__":
    main()
