"""`make bench`: measure training speed on C-MNIST and write reports/benchmarks.md (+ JSON, + an MLflow run); with
``--methods``, every method of Table 1 beside its floor (`make bench-methods`) is a section of the same report."""

from pathlib import Path

import click

from benchmarks.measure.suite import reprice, run_suite, to_markdown
from gerne.device import resolve_device
from gerne.io import read_json, write_json, write_text
from gerne.tracking import Tracker
from pipeline.config import Params, load_params


def column_runs(p: Params) -> tuple[int, int]:
    """Training runs `dvc repro` makes for the design's GERNE rows (rows × seeds, search configs, reference models),
    and how many of them are search configs (grid points outside Eq. 9 included: they are skipped, not priced
    away). The baselines train other recipes; reports/baselines.md measures each."""
    from pipeline.plan import plan
    from pipeline.studies.search import row_configs

    items, st = plan(p), p.studies
    seeds = len(st.seeds)
    trains, sweeps = ([i for i in items[k].values() if st.rows[i["row"]].method == "gerne"] for k in ("train", "sweep"))
    sweep = sum(len(row_configs(p.datasets[i["dataset"]], st.search, st.rows[i["row"]])) for i in sweeps)
    return (len(trains) + len(sweeps)) * seeds + sweep + len(items["reference"]), sweep


@click.command()
@click.option("--data", default="data/cmnist/r0.5", show_default=True, type=click.Path(file_okay=False),
              help="Prepared C-MNIST split to measure on (not read with --from-json).")
@click.option("--out", default="reports/benchmarks.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--json", "json_path", default="metrics/benchmarks.json", show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--epochs", default=1, show_default=True, type=int,
              help="Epochs per timed fit (ours is the best of 3 fits, as the floor is the best of 3 epochs).")
@click.option("--stack", default=[3], show_default=True, type=int, multiple=True,
              help="Runs stacked in the stacking test (repeat to time several sizes).")
@click.option("--params", "params_path", default="params.yaml", show_default=True, help="Design to price.")
@click.option("--track/--no-track", default=True, show_default=True, help="Log the result as an MLflow run.")
@click.option("--from-json", "from_json", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Measure nothing: render and log a result measured elsewhere (benchmarks/device.sh's JSON).")
@click.option("--price", is_flag=True, help="With --from-json: price the column of --params anew (seeds, rows); "
              "the measured seconds are kept.")
@click.option("--methods", "methods_json", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Append every method beside its floor: the `benchmark_methods` stage's JSON "
              "(metrics/benchmarks_methods.json), its study's column priced with --params.")
@click.option("--measure-only", is_flag=True, help="Write the --json measurement only (no table, no MLflow run, no "
              "pricing: the `benchmark_report` stage renders and prices it).")
def main(data: str, out: str, json_path: str, device: str, epochs: int, stack: tuple[int, ...], params_path: str,
         track: bool, from_json: str | None, price: bool, methods_json: str | None, measure_only: bool) -> None:
    """Print the benchmark table and write it to --out."""
    if from_json:
        result = read_json(from_json)
        if price:
            result = reprice(result, *column_runs(load_params(params_path)))
    else:
        if not Path(data).is_dir():
            raise click.BadParameter(f"directory '{data}' does not exist; build it first (`dvc repro data`)",
                                     param_hint="--data")
        total, sweep = (0, 0) if measure_only else column_runs(load_params(params_path))
        result = run_suite(data, resolve_device(device, "--device"), epochs=epochs, stack=stack, column_runs=total,
                           sweep_runs=sweep)
        write_json(json_path, result)
        if measure_only:
            click.echo(f"wrote {json_path}")
            return
    text = to_markdown(result)
    if methods_json:
        from benchmarks.methods.report import to_markdown as methods_markdown

        text = text.rstrip("\n") + "\n\n" + methods_markdown(read_json(methods_json), load_params(params_path))
    click.echo(text)
    write_text(out, text)
    if not track:  # e.g. on a GPU machine without MLflow installed
        return
    with Tracker("benchmarks").run(f"bench-{result['device']}", params={"data": data, "epochs": epochs,
                                                                        "from_json": from_json or ""},
                                   tags={"stage": "benchmark", "machine": result["machine"]}) as run:
        run.log_metrics({k: v for k, v in result.items() if isinstance(v, float)}, step=0)
        run.log_artifact(Path(out))


if __name__ == "__main__":
    main()
