"""One training loop for every setting: epochs of method steps, on-device evaluation, checkpoint selection.

No host synchronisation inside an epoch: step losses are summed on the device and read once per epoch, and the
tracking callback is called once per epoch.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gerne.data.contract import Split
from gerne.train.evaluate import aligned_attributes, evaluate
from gerne.train.optimizers import build_optimizer
from gerne.train.selection import RULES, better
from gerne.train.stack import ModelStack

log = logging.getLogger(__name__)
SELECTIONS = tuple(RULES)  # last, best_val, oracle (gerne.train.selection)


@dataclass(frozen=True)
class LoopConfig:
    """Optimisation and selection settings of one run."""

    epochs: int
    lr: float
    momentum: float = 0.9
    weight_decay: float = 1.0e-2
    steps_per_epoch: int = 0
    seed: int = 0
    select_metric: str = "val_gba"
    oracle_metric: str = "test_gba"
    evaluate_train: bool = True
    precision: str = "fp32"
    total_steps: int = 0  # > 0: step-based budget (SubpopBench), evaluated every steps_per_epoch steps and at the end
    optimizer: str = "sgd"
    schedule: str = "constant"
    clip_norm: float | None = None
    eval_batch_size: int = 8192


@dataclass
class TrainResult:
    """Per-epoch history, the three labelled selections and the kept model states."""

    history: list[dict[str, float]] = field(default_factory=list)
    group_rows: list[dict[str, Any]] = field(default_factory=list)
    selections: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    seconds_per_epoch: float = float("nan")
    steps_per_epoch: int = 0
    diverged: bool = False


def steps_for(train_size: int, samples_per_step: int, configured: int) -> int:
    """``configured`` if positive, else one pass worth of batches: ceil(N / samples per batch)."""
    return configured if configured > 0 else max(1, math.ceil(train_size / samples_per_step))


def interval_steps(cfg: LoopConfig, steps: int) -> list[int]:
    """Steps of each training interval between evaluations: ``epochs`` × ``steps``, or with a step budget
    ``total_steps`` split into intervals of ``steps`` (the last one shorter)."""
    if cfg.total_steps <= 0:
        return [steps] * cfg.epochs
    full, rest = divmod(cfg.total_steps, steps)
    return [steps] * full + ([rest] if rest else [])


def fit(model: nn.Module, method: Any, train: Split, eval_splits: dict[str, Split], cfg: LoopConfig,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None, desc: str = "train") -> TrainResult:
    """Train one run; see :func:`fit_stack` (this is the stack of one)."""
    callbacks = None if on_epoch is None else [on_epoch]
    return fit_stack([model], [method], eval_splits, [cfg], callbacks, desc)[0]


def fit_stack(models: list[nn.Module], methods: list[Any], eval_splits: dict[str, Split], cfgs: list[LoopConfig],
              on_epoch: list[Callable[[int, dict[str, float]], None]] | None = None,
              desc: str = "train") -> list[TrainResult]:
    """Train R runs in lockstep (one stacked model) and evaluate ``eval_splits`` every epoch.

    Each method (the protocol of ``gerne.methods.base``: all of one class, stackable if R > 1) is already
    ``setup`` on its training split and gives the step; each run keeps its own seed (batch sampling) and
    selections, so a stacked run reproduces the same run trained alone. ``eval_splits`` carry the true attributes
    (never pseudo ones). Selections: ``last`` epoch, ``best_val`` by ``select_metric`` and ``oracle`` by
    ``oracle_metric`` (best test score, as some baselines report).
    """
    _check_stackable(models, methods, cfgs)
    direct = getattr(type(methods[0]), "fit", None)
    if direct is not None:  # a method that takes no SGD steps fits itself (gerne.methods.base)
        return direct(models, methods, eval_splits, cfgs, on_epoch)
    cfg0, device = cfgs[0], methods[0].y.device
    stack = ModelStack(models, cfgs[0].precision)
    generators = [torch.Generator(device=device).manual_seed(c.seed) for c in cfgs]
    steps = steps_for(len(methods[0].y), methods[0].samples_per_batch, cfg0.steps_per_epoch)
    intervals = interval_steps(cfg0, steps)
    opt = build_optimizer(cfg0.optimizer, stack.parameters(), lr=cfg0.lr, momentum=cfg0.momentum,
                          weight_decay=cfg0.weight_decay, total_steps=sum(intervals), schedule=cfg0.schedule,
                          clip_norm=cfg0.clip_norm)
    aligned, evals = _eval_splits(eval_splits, cfg0)
    results = [TrainResult(steps_per_epoch=steps) for _ in models]
    best = [{name: float("nan") for name in RULES} for _ in models]
    train_time = 0.0
    step = type(methods[0]).stacked(methods)
    loss_names = step.loss_names
    bar = tqdm(range(1, len(intervals) + 1), desc=desc, unit="eval" if cfg0.total_steps else "epoch",
               disable=None, leave=False)
    done = 0
    for epoch in bar:
        stack.train(True)
        start = time.perf_counter()
        losses = _interval(step, stack, opt, generators, intervals[epoch - 1], len(loss_names), device)
        done += intervals[epoch - 1]
        train_time += time.perf_counter() - start
        metrics, tables = evaluate(stack, evals, aligned, cfg0.eval_batch_size)
        for r, result in enumerate(results):
            m = {**metrics[r], **dict(zip(loss_names, losses[r], strict=True))}
            if cfg0.total_steps:
                m["step"] = float(done)
            record_epoch(result, best[r], epoch, m, tables[r], cfgs[r], stack, r)
            if on_epoch is not None:
                on_epoch[r](epoch, m)
        _show(bar, desc, epoch, len(intervals), loss_names[-1], losses, cfg0.select_metric, results)
        if _diverged(results, losses, f"{desc}: {loss_names[-1]}", epoch):
            break
    stack.sync_to_models()
    finish(results, stack, train_time)
    return results


def _interval(step: Any, stack: ModelStack, opt: Any, generators: list[torch.Generator], n: int, width: int,
              device: torch.device) -> list[list[float]]:
    """``n`` optimiser steps of the stacked runs; each run's ``width`` loss parts averaged over them (the one host
    sync of the interval)."""
    sums = torch.zeros(len(generators), width, dtype=torch.float64, device=device)
    for _ in range(n):
        loss, parts = step(stack, generators)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sums += parts
    return (sums / n).tolist()


def _diverged(results: list[TrainResult], losses: list[list[float]], what: str, epoch: int) -> bool:
    """Mark the runs whose objective (the last loss, ``gerne.methods.base``) is not finite; True when any is."""
    if all(math.isfinite(r[-1]) for r in losses):
        return False
    for result, r in zip(results, losses, strict=True):
        result.diverged = not math.isfinite(r[-1])
    log.warning("%s is not finite at epoch %d; training diverged and stops here", what, epoch)
    return True


def _eval_splits(eval_splits: dict[str, Split], cfg: LoopConfig) -> tuple[torch.Tensor, dict[str, Split]]:
    """The aligned attribute of each class (from the true training attributes) and the splits scored per epoch."""
    if "train" not in eval_splits:
        raise ValueError("eval_splits must hold the 'train' split (true attributes) to define aligned groups; "
                         "pass evaluate_train=False to skip scoring it")
    return (aligned_attributes(eval_splits["train"]),
            {k: v for k, v in eval_splits.items() if k != "train" or cfg.evaluate_train})


def finish(results: list[TrainResult], stack: ModelStack, train_time: float) -> None:
    """Per-run training time per epoch and the ``last`` selection with its state."""
    for r, result in enumerate(results):
        result.seconds_per_epoch = train_time / max(1, len(result.history)) / len(results)
        result.selections["last"] = {"epoch": result.history[-1]["epoch"], "metric": "last",
                                     "metrics": dict(result.history[-1])}
        result.states["last"] = stack.state_dict(r)


def _check_stackable(models: list[nn.Module], methods: list[Any], cfgs: list[LoopConfig]) -> None:
    """ValueError unless the runs can share one stacked model: one stackable method class, one shared schedule."""
    kinds = {type(m) for m in methods}
    if len(kinds) != 1 or (len(methods) > 1 and not methods[0].stackable):
        raise ValueError(f"stacked runs need one stackable method class, got {sorted(k.__name__ for k in kinds)}")
    shared = {(c.epochs, c.lr, c.momentum, c.weight_decay, c.steps_per_epoch, c.precision, c.total_steps,
               c.optimizer, c.schedule, c.clip_norm) for c in cfgs}
    if len(shared) != 1 or len(models) != len(methods) or len(models) != len(cfgs):
        raise ValueError("stacked runs need one method and config each, with the same epochs, lr, momentum, "
                         "weight decay, steps per epoch, step budget, optimizer and precision")


def _show(bar: Any, desc: str, epoch: int, epochs: int, objective: str, losses: list[list[float]], key: str,
          results: list[TrainResult]) -> None:
    """The progress bar's postfix and the epoch's log line (objective and selection metric of every run)."""
    bar.set_postfix(loss=f"{losses[0][-1]:.3f}", **{key: f"{results[0].history[-1].get(key, math.nan):.3f}"})
    log.info("%s epoch %d/%d  %s %s  %s %s", desc, epoch, epochs, objective, _fmt(r[-1] for r in losses), key,
             _fmt(res.history[-1].get(key, math.nan) for res in results))


def _fmt(values: Any) -> str:
    return "/".join(f"{v:.4f}" for v in values)


def record_epoch(result: TrainResult, best: dict[str, float], epoch: int, metrics: dict[str, float],
            tables: dict[str, np.ndarray], cfg: LoopConfig, stack: ModelStack, r: int) -> None:
    """Append one epoch to a run's history and update its best-val and oracle selections."""
    result.history.append({"epoch": epoch, **metrics})
    for split, table in tables.items():
        result.group_rows += [{"epoch": epoch, "split": split, "y": y, "a": a, "acc": float(v)}
                              for (y, a), v in np.ndenumerate(table) if not np.isnan(v)]
    for name, rule in RULES.items():
        key = rule.metric(cfg)
        if key is not None and better(metrics.get(key, math.nan), best[name]):
            best[name] = metrics[key]
            result.selections[name] = {"epoch": epoch, "metric": key, "metrics": dict(metrics)}
            if rule.keep_state:
                result.states[name] = stack.state_dict(r)
