"""Every method at its floor (`make bench-methods`): each row of a study (default: Table 1's rows on C-MNIST 0.5 %)
built as the train stage builds it, its step beside the floor of its own matrix products and the textbook eager
step of its recipe (:mod:`benchmarks.methods.floor`, :mod:`benchmarks.methods.rows`), its evaluation, the price of
one run and of the study's whole column on this machine, each stackable row's seeds also stacked. The section is
rendered into ``reports/benchmarks.md`` by ``python -m benchmarks.run --from-json … --methods …`` (DVC stage
``benchmark_report``)."""

from __future__ import annotations

import math
from typing import Any

from tqdm import tqdm

from gerne.device import resolve_device
from pipeline.config import Params


def column_seconds(p: Params, study: str, priced: dict[str, float]) -> tuple[float, int]:
    """Seconds and runs of the study's whole column at the measured price of each row's run: its runs as the column
    benchmark counts them (:func:`benchmarks.column.column_jobs`: every seed of its config, plus every other config
    of its search once, each drawn from the row's own protocol)."""
    from benchmarks.column import column_jobs

    jobs = [(row, len(runs)) for _dataset, row, runs in column_jobs(p, study)]
    return sum(n * priced.get(row, math.nan) for row, n in jobs), sum(n for _row, n in jobs)


def measure(p: Params, study: str, dataset: str, data: str, steps: int, rounds: int, device: str,
            stack: int) -> dict[str, Any]:
    """Every row of ``study`` measured on ``dataset`` (prepared in ``data``); stackable rows also ``stack`` runs as
    one stacked model."""
    from benchmarks.measure.suite import machine
    from benchmarks.methods.rows import measure_row
    from pipeline.runs.common import load_splits

    dev = resolve_device(device, "--device")
    splits = load_splits(data, dev)
    rows = [measure_row(p, dataset, row, splits, steps, rounds, dev, stack)
            for row in tqdm(p.studies.tables[study].rows_of(dataset), desc="rows", disable=None)]
    return {"machine": machine(), "device": str(dev), "study": study, "dataset": dataset, "steps": steps,
            "rounds": rounds, "stack": stack, "rows": rows}
