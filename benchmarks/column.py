"""`python -m benchmarks.column`: a study's whole column (default: Table 1 on every C-MNIST ratio) trained on one
device and timed: the question "how long does the column take on this machine?", answered by training it.

The runs are the column's as the methods benchmark prices them (every seed of each row's config 0, every other
search config once with the first seed: as many runs of the same shapes and steps as the stages train, though a
search stage gives its seeds to the config validation chooses, so the mean test GBA here is not the table's cell),
each built by the pipeline's own code (its protocol, grouping, method,
model and loop), cut into stacks of ``--stack`` (``studies.stack_size``; same schedule only; a method that cannot
stack, DFR, alone), and trained by the library's loop: val and test scored after every epoch, batched across the
stack in one pass. Untracked and written nowhere (a bare GPU image has no MLflow): only the seconds and each run's
selected test score are kept. The reference models and pseudo-attributes are the committed ones (``models/``), as a
fresh clone's train stage reuses them; a dataset missing under ``--data-root`` is prepared from ``--raw``.
``--budget-s``: once spent, each row left trains its first stack only; the runs left are priced at their row's
measured seconds per run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from gerne.io import write_json, write_text


def column_jobs(p: Any, study: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str, list[Any]]]:
    """``(dataset, row, jobs)`` of every row of the study's column but ``skip``, in the study's order."""
    from pipeline.studies.runs import Job
    from pipeline.studies.search import row_configs

    st, out = p.studies, []
    for dataset in st.tables[study].datasets:
        for row in [r for r in st.tables[study].rows_of(dataset) if r not in skip]:
            spec, protocol = _protocol(p, dataset, row)  # the row's overrides (lr, budget) decide its configs
            cfgs = row_configs(protocol, st.search, spec)
            others = [] if spec.search == "none" else cfgs[1:]
            jobs = [Job(cfgs[0], seed, Path(f"{row}-s{seed}.json"), f"{row}-s{seed}") for seed in st.seeds]
            jobs += [Job(cfg, st.seeds[0], Path(f"{row}-c{i}.json"), f"{row}-c{i}") for i, cfg in enumerate(others, 1)]
            out.append((dataset, row, jobs))
    return out


def _protocol(p: Any, dataset: str, row: str) -> tuple[Any, Any]:
    """The row's spec and its protocol on ``dataset`` (the dataset's, with the row's overrides: the stages' own)."""
    from pipeline.studies.protocols import protocol_for

    sp, declared = p.declared(dataset)
    return sp.rows[row], protocol_for(declared, sp.rows[row], f"studies.rows.{row} on {dataset}")


def admissible(p: Any, dataset: str, row: str, splits: dict[str, Any], jobs: list[Any], scores: Any) -> list[Any]:
    """``jobs`` but the grid points the search stage skips (β outside Eq. 9 on the training groups)."""
    from pipeline.studies.stages import inadmissible

    spec, protocol = _protocol(p, dataset, row)
    grid: list[dict[str, Any]] = []
    for job in jobs:
        if job.cfg not in grid:
            grid.append(job.cfg)
    refused = [grid[i] for i in inadmissible(protocol, splits, dataset, row, spec, grid, scores)]
    return [j for j in jobs if j.cfg not in refused]


def train_stack(p: Any, dataset: str, row: str, splits: dict[str, Any], jobs: list[Any], scores: Any) -> list[float]:
    """Train one stack of ``jobs`` as the train stage builds them, untracked; each run's best-val test GBA."""
    from gerne.train.loop import fit_stack
    from pipeline.studies.runs import build_stack

    spec, protocol = _protocol(p, dataset, row)
    models, methods, loops = build_stack(protocol, splits, jobs, dataset=dataset, row=row, spec=spec, scores=scores)
    results = fit_stack(models, methods, {k: splits[k] for k in ("train", "val", "test")}, loops, desc=row)
    return [r.selections.get("best_val", r.selections["last"])["metrics"]["test_gba"] for r in results]


def _splits(p: Any, dataset: str, data_root: Path, raw: Path | None, device: Any) -> dict[str, Any]:
    """The dataset's prepared splits on ``device``, prepared from ``raw`` first where missing."""
    from pipeline.runs.common import load_splits
    from pipeline.studies.stages import prepare

    folder = data_root / (p.datasets[dataset].dir or dataset)
    if not (folder / "metadata.csv").is_file():
        if raw is None:
            raise click.UsageError(f"{folder} is not prepared; build it (`dvc repro data`) or pass --raw")
        prepare(p, dataset, raw, folder)
    return load_splits(folder, device)


def run_column(p: Any, study: str, data_root: Path, raw: Path | None, device: Any, stack: int,
               budget_s: float | None, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Train the column stack by stack; per row its runs, stacks, seconds and scores (or what the budget left)."""
    from benchmarks.measure.timing import device_sync
    from benchmarks.methods.rows import reference_edge
    from pipeline.studies.runs import stacks

    start, rows, cache = time.perf_counter(), [], {}
    for dataset, row, jobs in column_jobs(p, study, skip):
        if dataset not in cache:
            cache.clear()  # one dataset's splits on the device at a time
            cache[dataset] = _splits(p, dataset, data_root, raw, device)
        spec, protocol = _protocol(p, dataset, row)
        scores = reference_edge(p, dataset, row)
        kept = admissible(p, dataset, row, cache[dataset], jobs, scores)
        cut = stacks(protocol, spec, kept, stack)
        entry = {"dataset": dataset, "row": row, "method": spec.method, "runs": len(kept),
                 "outside_eq9": len(jobs) - len(kept), "stacks": len(cut), "trained": 0, "seconds": 0.0,
                 "test_gba": []}
        for i, part in enumerate(cut):
            if i and budget_s is not None and time.perf_counter() - start > budget_s:
                break  # spent: each row still trains its first stack, so that every row has a measured rate
            t = time.perf_counter()
            entry["test_gba"] += train_stack(p, dataset, row, cache[dataset], part, scores)
            device_sync(device)
            entry["seconds"] += time.perf_counter() - t
            entry["trained"] += len(part)
        rows.append(entry)
    return {"study": study, "stack": stack, "budget_s": budget_s, "skipped": list(skip),
            "wall_s": time.perf_counter() - start, "rows": rows, **_totals(rows)}


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs trained and planned, and the column's seconds: measured, plus the untrained runs at their row's rate."""
    projected = sum(r["seconds"] / r["trained"] * (r["runs"] - r["trained"]) for r in rows)
    return {"runs": sum(r["runs"] for r in rows), "trained": sum(r["trained"] for r in rows),
            "trained_s": sum(r["seconds"] for r in rows), "projected_s": projected}


def to_markdown(r: dict[str, Any]) -> str:
    """The measurement as a report: the column's wall time, then a line per row."""
    done = r["trained"] == r["runs"]
    head = (f"**{r['runs']} runs in {r['trained_s'] / 60:.1f} min**" if done else
            f"**{r['trained']} of {r['runs']} runs in {r['trained_s'] / 60:.1f} min** (budget {r['budget_s']:.0f} s); "
            f"the rest priced at their row's measured rate: {r['projected_s'] / 60:.1f} min more")
    lines = [f"# The `{r['study']}` study's column on one device", "",
             f"Measured by `python -m benchmarks.column --stack {r['stack']}` on: {r['machine']}; device "
             f"`{r['device']}`. {head}. Each row's runs as the train stage builds them (every seed of config 0, every "
             "other search config once: the stages' run count, though a search gives its seeds to the config "
             f"validation chooses, so the test GBA is not the table's cell), {r['stack']} to a stack "
             "(DFR alone), val and test scored after every epoch; process start, data preparation and the reference "
             f"models (committed) not included; {sum(x['outside_eq9'] for x in r['rows'])} grid points outside Eq. 9 "
             "skipped, as the search stage skips them."
             + (f" Rows left out (`--skip`): {', '.join(r['skipped'])}." if r["skipped"] else ""), "",
             "| dataset | row | method | runs | stacks | trained | seconds | s / run | test GBA (best val), mean |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for x in r["rows"]:
        rate = f"{x['seconds'] / x['trained']:.1f}"
        gba = f"{100 * sum(x['test_gba']) / len(x['test_gba']):.1f}" if x["test_gba"] else "—"
        lines.append(f"| {x['dataset']} | `{x['row']}` | {x['method']} | {x['runs']} | {x['stacks']} | "
                     f"{x['trained']} | {x['seconds']:.0f} | {rate} | {gba} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--study", default="table1", show_default=True)
@click.option("--data-root", default="data", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--raw", default=None, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Raw release files to prepare a missing dataset from (C-MNIST: the four MNIST *-ubyte.gz).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--stack", default=32, show_default=True, type=click.IntRange(1), help="studies.stack_size.")
@click.option("--budget-s", default=None, type=click.FloatRange(min=0.0), help="After this many s, train each row's "
              "first stack only and price the rest at its rate.")
@click.option("--skip", multiple=True, help="A row of the study to leave out (repeat), e.g. dfr where scikit-learn "
              "is not installed.")
@click.option("--json", "json_path", default="column.json", show_default=True)
@click.option("--out", default="column.md", show_default=True)
@click.option("--from-json", "from_json", is_flag=True, help="Measure nothing: render --json (a measurement made on "
              "the device) into --out.")
def main(params_path: str, study: str, data_root: Path, raw: Path | None, device: str, stack: int,
         budget_s: float | None, skip: tuple[str, ...], json_path: str, out: str, from_json: bool) -> None:
    """Train a study's whole column on one device and report its wall time."""
    from benchmarks.measure.suite import machine
    from gerne.device import resolve_device
    from gerne.io import read_json
    from pipeline.config import load_params

    if from_json:
        write_text(out, to_markdown(read_json(json_path)))
        click.echo(f"wrote {out}")
        return
    p = load_params(params_path)
    if study not in p.studies.tables:
        raise click.BadParameter(f"no study '{study}' in {params_path}", param_hint="--study")
    unknown = sorted(set(skip) - set(p.studies.tables[study].rows))
    if unknown:
        raise click.BadParameter(f"{unknown} are not rows of study '{study}'", param_hint="--skip")
    from gerne.system import keep_large_allocations

    keep_large_allocations()  # as every training stage does
    dev = resolve_device(device, "--device")
    measured = run_column(p, study, data_root, raw, dev, stack, budget_s, skip)
    result = {"machine": machine(), "device": str(dev), **measured}
    write_json(json_path, result)
    text = to_markdown(result)
    write_text(out, text)
    click.echo(text)


if __name__ == "__main__":
    main()
