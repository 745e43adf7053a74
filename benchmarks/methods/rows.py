"""Measure one row of a study as the `train` stage would train it (config 0, seed 0): its step beside its floor and
the framework reference, its evaluation, the price of a run and the runs its committed summaries recorded."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from benchmarks.measure.timing import device_sync
from benchmarks.methods.floor import MatmulRecorder, Timed, interleave, replay, seconds, textbook
from gerne import layout
from gerne.data.contract import Split
from gerne.methods import METHODS
from gerne.train.evaluate import aligned_attributes, evaluate
from gerne.train.loop import interval_steps, steps_for
from gerne.train.optimizers import build_optimizer
from gerne.train.stack import ModelStack
from pipeline.config import Params
from pipeline.studies.protocols import protocol_for
from pipeline.studies.runs import build, grouped_method, loop_config
from pipeline.studies.search import row_configs
from pipeline.studies.stages import load_edge


def reference_edge(p: Params, dataset: str, row: str) -> Any:
    """The reference edge the row trains from (f̃'s checkpoint, its scores, or nothing), read as the train stage
    reads it from the committed ``models/`` folder."""
    spec, folder = p.studies.rows[row], p.datasets[dataset].dir or dataset
    reference = METHODS[spec.method].needs_reference
    return load_edge(row, spec, layout.checkpoint(folder) if reference else layout.scores_file(folder))


def recorded_seconds(p: Params, dataset: str, row: str) -> float:
    """Mean training seconds per run of the row's committed summaries (NaN where none)."""
    folder = layout.row_dir(p.datasets[dataset].dir or dataset, row)
    runs = [json.loads(f.read_text()) for f in layout.summaries(folder)]
    spent = [r["seconds_per_epoch"] * (len(r.get("history") or []) or r["epochs_run"]) for r in runs
             if r.get("seconds_per_epoch") is not None]
    return float(np.mean(spent)) if spent else math.nan


def _stepper(models: list[torch.nn.Module], methods: list[Any], loop: Any, device: torch.device) -> tuple[
        ModelStack, Callable[[], None]]:
    """The loop's own step (:func:`gerne.train.loop._interval`) of ``models`` stacked, as a timer."""
    stack = ModelStack(models, loop.precision)
    intervals = interval_steps(loop, steps_for(len(methods[0].y), methods[0].samples_per_batch, loop.steps_per_epoch))
    opt = build_optimizer(loop.optimizer, stack.parameters(), lr=loop.lr, momentum=loop.momentum,
                          weight_decay=loop.weight_decay, total_steps=sum(intervals), schedule=loop.schedule,
                          clip_norm=loop.clip_norm)
    step = type(methods[0]).stacked(methods)
    generators = [torch.Generator(device=device).manual_seed(s) for s in range(len(models))]
    sums = torch.zeros(len(models), len(step.loss_names), dtype=torch.float64, device=device)

    def run() -> None:
        nonlocal sums
        loss, parts = step(stack, generators)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sums += parts

    return stack, run


def measure_row(p: Params, dataset: str, row: str, splits: dict[str, Split], steps: int, rounds: int,
                device: torch.device, stack: int = 1) -> dict[str, Any]:
    """The row's step, floor, reference, evaluation and run price (see :mod:`benchmarks.methods`); a stackable
    method also ``stack`` runs (seeds 0…) as one stacked model, its block of ``steps // stack`` steps (at least 3)."""
    sp, declared = p.declared(dataset)
    spec = sp.rows[row]
    protocol = protocol_for(declared, spec, f"studies.rows.{row} on {dataset}")
    cfg = row_configs(protocol, sp.search, spec)[0]
    train, method = grouped_method(protocol, splits["train"], dataset=dataset, row=row, spec=spec, cfg=cfg,
                                   scores=reference_edge(p, dataset, row))
    loop = loop_config(protocol, cfg, 0, spec.select, evaluate_train=spec.eval_train)
    model = build(protocol, train, cfg, 0, device)
    evals = {k: v for k, v in splits.items() if k in ("val", "test") or (k == "train" and loop.evaluate_train)}
    out = {"dataset": dataset, "row": row, "method": spec.method, "optimizer": loop.optimizer,
           "recorded_run_s": recorded_seconds(p, dataset, row)}
    if getattr(type(method), "fit", None) is not None:
        return {**out, **_direct_fit(method, model, splits, loop)}
    alone, ours = _stepper([model], [method], loop, device)
    with MatmulRecorder() as recorder:
        ours()
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear)).in_features
    rows = sum(math.prod(specs[-2][0][:-1]) for _n, specs in recorder.calls if specs[-2][0][-1] == first)
    reference = textbook(build(protocol, train, cfg, 0, device), rows, loop.optimizer, loop.lr, loop.weight_decay,
                         loop.momentum, device)
    timers = {"ours": (ours, steps), "floor": (replay(recorder.calls, device), steps), "reference": (reference, steps)}
    stacked = None
    if stack > 1 and type(method).stackable:
        stacked, run_stacked = _stepper([build(protocol, train, cfg, s, device) for s in range(stack)],
                                        [method] * stack, loop, device)
        timers["stacked"] = (run_stacked, max(3, steps // stack))
    summary = Timed(interleave(timers, rounds, device), stack if stacked else 1).summary()
    aligned = aligned_attributes(splits["train"])

    def eval_seconds(models: ModelStack) -> float:  # one epoch's evaluation of every run of ``models``, best of 3
        return min(seconds(lambda: evaluate(models, evals, aligned, loop.eval_batch_size)) for _ in range(3))

    eval_s = eval_seconds(alone)
    with MatmulRecorder() as scored:
        evaluate(alone, evals, aligned, loop.eval_batch_size)
    eval_floor = replay(scored.calls, device)
    eval_floor_s = min(seconds(lambda: (eval_floor(), device_sync(device))) for _ in range(3))
    intervals = interval_steps(loop, steps_for(len(method.y), method.samples_per_batch, loop.steps_per_epoch))
    run_s = sum(intervals) * summary["step_s"] + len(intervals) * eval_s
    if stacked is not None:
        per_run = eval_seconds(stacked) / stack
        summary.update(stacked_eval_s=per_run, stacked_run_s=sum(intervals) * summary["stacked_step_s"] / stack
                       + len(intervals) * per_run)
    return {**out, **summary, "rows_per_step": rows, "gflop_per_step": recorder.flops() / 1e9,
            "steps_per_run": sum(intervals), "evaluations_per_run": len(intervals), "eval_s": eval_s,
            "eval_floor_s": eval_floor_s, "eval_gflop": scored.flops() / 1e9,
            "run_s": run_s, "runs_per_hour": 3600.0 / run_s}


def _direct_fit(method: Any, model: torch.nn.Module, splits: dict[str, Split], loop: Any) -> dict[str, Any]:
    """A method without SGD steps (DFR): its whole fit of one run beside one scikit-learn fit of the same solver on
    one balanced subset of the same features (each timed once: a fit takes seconds to minutes)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from gerne.methods.batches import group_ids
    from gerne.methods.dfr import balanced_logistic, balanced_subset, features, last_linear

    held = method.train if method.holdout == "train" else splits["val"]
    model.load_state_dict(method.reference)
    h = features(model, last_linear(model), held.x, loop.eval_batch_size)
    fit_s = seconds(lambda: balanced_logistic(h, held, method.C, method.subsets, 0, method.max_iter, "held"))
    x = h.double().numpy()
    z = (x - x.mean(0)) / np.where(x.std(0) == 0.0, 1.0, x.std(0))
    idx = balanced_subset(group_ids(held).cpu().numpy(), np.random.default_rng(0))
    y = held.y.cpu().numpy()[idx]

    def one() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            LogisticRegression(l1_ratio=1.0, C=method.C, solver="saga", max_iter=method.max_iter,
                               random_state=0).fit(z[idx], y)

    single_s = seconds(one)
    return {"fit_s": fit_s, "single_fit_s": single_s, "subsets": method.subsets,
            "fit_ratio": fit_s / (single_s * method.subsets), "run_s": fit_s, "runs_per_hour": 3600.0 / fit_s}
