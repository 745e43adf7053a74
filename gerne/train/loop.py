"""One training loop for every setting: epochs of method steps, on-device evaluation, checkpoint selection.

No host synchronisation inside an epoch: step losses are summed on the device and read once per epoch, and the
tracking callback is called once per epoch.
"""

from __future__ import annotations

import copy
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
from gerne.train.evaluate import SCALARS, predict, split_scores
from gerne.train.optim import SGD

log = logging.getLogger(__name__)
LOSS_NAMES = ("loss_b", "loss_lb", "loss_ext")
SELECTIONS = ("last", "best_val", "oracle")


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


def aligned_attributes(train: Split) -> torch.Tensor:
    """Majority attribute of each class in the training split (for aligned/conflicting accuracy)."""
    gid = train.y * train.num_attributes + train.a
    counts = torch.bincount(gid, minlength=train.num_classes * train.num_attributes)
    return counts.reshape(train.num_classes, train.num_attributes).argmax(1)


def evaluate(model: nn.Module, splits: dict[str, Split], aligned: torch.Tensor) -> tuple[dict[str, float], dict]:
    """Scores of every split in one host transfer: ``{split_metric: value}`` and ``{split: K×A accuracies}``."""
    vectors, tables = [], []
    for split in splits.values():
        scalars, table = split_scores(predict(model, split.x), split, aligned)
        vectors.append(scalars)
        tables.append(table)
    values = torch.stack(vectors).cpu().numpy()
    metrics = {f"{name}_{m}": float(values[i, j]) for i, name in enumerate(splits) for j, m in enumerate(SCALARS)}
    return metrics, {name: t.cpu().numpy() for name, t in zip(splits, tables, strict=True)}


def _better(value: float, best: float) -> bool:
    return not math.isnan(value) and (math.isnan(best) or value > best)


def fit(model: nn.Module, method: Any, train: Split, eval_splits: dict[str, Split], cfg: LoopConfig,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None, desc: str = "train") -> TrainResult:
    """Train ``model`` with ``method`` (already ``setup`` on ``train``) and evaluate ``eval_splits`` every epoch.

    ``eval_splits`` carry the true attributes (never the pseudo ones). Selections: ``last`` epoch, ``best_val`` by
    ``cfg.select_metric`` and ``oracle`` by ``cfg.oracle_metric`` (best test score, as some baselines report).
    """
    device = train.y.device
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    opt = SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    steps = steps_for(len(train), method.samples_per_batch, cfg.steps_per_epoch)
    aligned = aligned_attributes(eval_splits.get("train", train))
    result = TrainResult(steps_per_epoch=steps)
    best = {"best_val": float("nan"), "oracle": float("nan")}
    train_time = 0.0
    bar = tqdm(range(1, cfg.epochs + 1), desc=desc, unit="epoch", disable=None, leave=False)
    for epoch in bar:
        model.train()
        start = time.perf_counter()
        sums = torch.zeros(3, dtype=torch.float64, device=device)
        for _ in range(steps):
            loss, parts = method.losses(model, generator)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sums += parts
        losses = (sums / steps).tolist()  # the one host sync of the epoch
        train_time += time.perf_counter() - start
        metrics, tables = evaluate(model, eval_splits, aligned)
        metrics.update(dict(zip(LOSS_NAMES, losses, strict=True)))
        result.history.append({"epoch": epoch, **metrics})
        for split, table in tables.items():
            result.group_rows += [{"epoch": epoch, "split": split, "y": y, "a": a, "acc": float(v)}
                                  for (y, a), v in np.ndenumerate(table) if not np.isnan(v)]
        for name, key in (("best_val", cfg.select_metric), ("oracle", cfg.oracle_metric)):
            if _better(metrics.get(key, float("nan")), best[name]):
                best[name] = metrics[key]
                result.selections[name] = {"epoch": epoch, "metric": key, "metrics": dict(metrics)}
                if name == "best_val":
                    result.states["best_val"] = copy.deepcopy({k: v.cpu() for k, v in model.state_dict().items()})
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        bar.set_postfix(loss=f"{losses[2]:.3f}", **{k: f"{metrics[k]:.3f}" for k in (cfg.select_metric,)
                                                     if k in metrics})
        log.info("%s epoch %d/%d  L_ext %.4f  %s %.4f", desc, epoch, cfg.epochs, losses[2], cfg.select_metric,
                 metrics.get(cfg.select_metric, float("nan")))
        if not math.isfinite(losses[2]):
            result.diverged = True
            log.warning("%s: L_ext is %s at epoch %d; training diverged and stops here", desc, losses[2], epoch)
            break
    result.seconds_per_epoch = train_time / max(1, len(result.history))
    result.selections["last"] = {"epoch": result.history[-1]["epoch"], "metric": "last",
                                 "metrics": dict(result.history[-1])}
    result.states["last"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return result
