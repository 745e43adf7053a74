"""Shared pieces of every tracked training run: device, data, model, one MLflow run per fitted model, summaries.

Each run function reads prepared files, trains on one device, logs an MLflow run and writes its outputs
atomically, the small JSON summary last, so a crashed run never leaves a finished-looking summary. The summary
holds the per-epoch history too, so learning curves can be drawn from committed files alone.
"""

from __future__ import annotations

import functools
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from gerne.data.contract import Split, load_tensor_dataset
from gerne.device import resolve_device as resolve_device  # re-exported for existing callers
from gerne.errors import DataError
from gerne.io import write_json
from gerne.models import build_model
from gerne.tracking import Run, Tracker
from gerne.train.loop import LoopConfig, TrainResult, fit_stack


def load_splits(data_dir: str | Path, device: torch.device) -> dict[str, Split]:
    splits = load_tensor_dataset(data_dir)
    for needed in ("train", "val", "test"):
        if needed not in splits:
            raise DataError(f"{data_dir} has no '{needed}' split; rebuild the dataset")
    return {k: v.to(device) for k, v in splits.items()}


def seeded_model(name: str, split: Split, seed: int, device: torch.device, **options: Any) -> torch.nn.Module:
    """Model family ``name`` for ``split``'s inputs and classes, initialised from ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return build_model(name, tuple(split.x.shape[1:]), split.num_classes, **options).to(device)


def write_summary(summary_path: str | Path, result: TrainResult, run_id: str, info: dict[str, Any]) -> dict:
    summary = {
        **info,
        "mlflow_run_id": run_id,
        "epochs_run": len(result.history),
        "diverged": result.diverged,
        "seconds_per_epoch": round(result.seconds_per_epoch, 4),
        "torch_threads": torch.get_num_threads(),  # CPU sums split by thread: the losses' last digits depend on it
        "steps_per_epoch": result.steps_per_epoch,
        "selections": result.selections,
        "history": result.history,
    }
    write_json(summary_path, summary)
    return summary


HEADLINE = ("gba", "wga", "acc", "aligned_acc", "conflicting_acc", "cba", "worst_class")


def headline_metrics(selections: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The numbers the reports use, one per selection rule: ``best_val/test_gba``, ``last/test_wga``,
    ``oracle/val_gba``, … (the per-epoch metrics' last values are the ``last`` rule only)."""
    return {f"{rule}/{split}_{name}": float(sel["metrics"][f"{split}_{name}"])
            for rule, sel in selections.items() for split in ("val", "test") for name in HEADLINE
            if f"{split}_{name}" in sel["metrics"]}


def _log_outcome(run: Run, result: TrainResult) -> None:
    run.log_metrics({"seconds_per_epoch": result.seconds_per_epoch, **headline_metrics(result.selections),
                     **{f"{rule}/epoch": sel["epoch"] for rule, sel in result.selections.items()}},
                    step=len(result.history))
    run.set_tags({"diverged": result.diverged, **{f"selected.{k}.epoch": v["epoch"]
                                                  for k, v in result.selections.items()}})
    with tempfile.TemporaryDirectory() as tmp:
        for state_name, state in result.states.items():
            torch.save(state, Path(tmp) / f"model_{state_name}.pt")
            run.log_artifact(Path(tmp) / f"model_{state_name}.pt", "model")
        pd.DataFrame(result.group_rows).to_csv(Path(tmp) / "group_accuracy.csv", index=False)
        pd.DataFrame(result.history).to_csv(Path(tmp) / "history.csv", index=False)
        run.log_artifact(Path(tmp) / "group_accuracy.csv")
        run.log_artifact(Path(tmp) / "history.csv")


def tracked_fit(tracker: Tracker, specs: list[dict[str, Any]], models: list[torch.nn.Module], methods: list[Any],
                 evals: dict[str, Split], loops: list[LoopConfig]) -> list[tuple[TrainResult, str]]:
    """Fit R stacked runs, each its own MLflow run: params, per-epoch metrics (step = epoch), state dicts, tables.

    ``specs[r]`` holds the run's ``name``, ``config`` (logged as params) and ``tags``.
    """
    with ExitStack() as stack:
        runs = [stack.enter_context(tracker.run(s["name"], params=s["config"], tags=s["tags"])) for s in specs]
        callbacks = [functools.partial(lambda run, e, m: run.log_metrics(m, step=e), run) for run in runs]
        desc = specs[0]["name"] if len(specs) == 1 else f"{specs[0]['name']} (+{len(specs) - 1} stacked)"
        results = fit_stack(models, methods, evals, loops, callbacks, desc=desc)
        for run, result in zip(runs, results, strict=True):
            _log_outcome(run, result)
        return [(result, run.run_id) for result, run in zip(results, runs, strict=True)]


