"""One run on a declared dataset under the SubpopBench protocol: a row, a search config and a seed.

Settings (BENCHMARKS.md, Sec. 5): attributes known in train and val (``yes_yes``), unknown in train but known in
val (``no_yes``: pseudo-attributes, checkpoint and config chosen by val WGA) and unknown in both (``no_no``: val
worst-class accuracy). The training attribute is hidden from the method in the ``no_*`` settings, never from
the evaluation. Every run evaluates the full val and test splits every ``eval_every`` steps and keeps all metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gerne.core.shares import group_shares
from gerne.data.contract import Split, group_counts
from gerne.errors import DataError
from gerne.groups import apply_grouping
from gerne.methods import build_method
from gerne.models import build_model
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig
from pipeline.runs.common import tracked_fit, write_summary
from pipeline.studies.config import Protocol
from pipeline.studies.search import resolve_beta


@dataclass(frozen=True)
class Setting:
    """What the method sees and how checkpoints and configs are chosen."""

    attributes: str  # "known" or "pseudo" (training groups)
    select_metric: str  # checkpoint and config choice (validation only)
    paper_selection: str  # the selection Table 2 reports for this setting: "oracle" or "best_val"


SETTINGS: dict[str, Setting] = {
    "yes_yes": Setting("known", "val_wga", "oracle"),  # paper: test WGA; SubpopBench's code: val WGA (both kept)
    "no_yes": Setting("pseudo", "val_wga", "best_val"),
    "no_no": Setting("pseudo", "val_worst_class", "best_val"),
}
BIASED = Setting("none", "val_cba", "best_val")  # the biased model f̃ (Algorithm 2, step 1): class-balanced ERM


@dataclass
class RunOutput:
    """A finished run: its summary (as written), the model (last state) and the kept states by selection."""

    summary: dict[str, Any]
    model: torch.nn.Module
    states: dict[str, dict[str, torch.Tensor]]


def method_for(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool, what: str) -> Any:
    """The GERNE step for ``cfg`` (β resolved inside Eq. 9 on ``train``'s groups), set up on ``train``."""
    counts = group_counts(train.y.cpu().numpy(), train.a.cpu().numpy(), train.num_classes, train.num_attributes)
    beta = resolve_beta(cfg, group_shares(counts))
    batch, unit = protocol.batch_size, protocol.batch_unit
    if pseudo and protocol.pseudo_batch_size:
        batch, unit = protocol.pseudo_batch_size, "group"
    method = build_method("gerne", c=cfg["c"], beta=beta, batch_size=batch, batch_unit=unit, track_both_losses=True)
    method.setup(train, what=what)
    return method


def loop_config(protocol: Protocol, cfg: dict[str, Any], seed: int, select_metric: str,
                lr_factor: float = 1.0, wd_factor: float = 1.0) -> LoopConfig:
    """The step-based loop of the protocol for one config and seed."""
    return LoopConfig(epochs=1, lr=cfg["lr"] * lr_factor, momentum=protocol.momentum,
                      weight_decay=protocol.weight_decay * wd_factor, steps_per_epoch=protocol.eval_every,
                      total_steps=protocol.steps, seed=seed, select_metric=select_metric, oracle_metric="test_wga",
                      evaluate_train=False, precision=protocol.precision, optimizer=protocol.optimizer,
                      schedule=protocol.schedule, clip_norm=protocol.clip_norm,
                      eval_batch_size=protocol.eval_batch_size)


def build(protocol: Protocol, split: Split, cfg: dict[str, Any], seed: int, device: torch.device) -> torch.nn.Module:
    """The protocol's model for ``split``'s inputs, initialised with ``seed`` (dropout from the config if searched)."""
    torch.manual_seed(seed)
    options = dict(protocol.model_options)
    if "dropout" in cfg:
        options["dropout"] = cfg["dropout"]
    return build_model(protocol.model, tuple(split.x.shape[1:]), split.num_classes, **options).to(device)


def run(protocol: Protocol, splits: dict[str, Split], *, dataset: str, setting: str, cfg: dict[str, Any], seed: int,
        out_path: str | Path, scores: np.ndarray | None = None, tracker: Tracker | None = None,
        name: str | None = None, lr_factor: float = 1.0, wd_factor: float = 1.0,
        erm: bool = False) -> RunOutput:
    """Train one run and write its summary (last, best-val and oracle selections with every metric); ``erm``
    trains the biased model f̃ (setting ``biased``)."""
    s = BIASED if erm else SETTINGS[setting]
    train = splits["train"]
    if erm:  # class-balanced ERM: the biased model of Algorithm 2 (attributes unused)
        train, cfg = apply_grouping("none", train), {**cfg, "c": 1.0, "beta": -1.0}
    elif s.attributes == "pseudo":
        if scores is None:
            raise DataError(f"row {setting} needs the reference model's scores (run its reference stage first)")
        train = apply_grouping("confidence", train, scores=scores, t=cfg["t"])
    method = method_for(protocol, train, cfg, s.attributes == "pseudo" and not erm,
                        what=f"{setting} training groups of {dataset}")
    loop = loop_config(protocol, cfg, seed, s.select_metric, lr_factor, wd_factor)
    run_name = name or f"{dataset}-{setting}-s{seed}"
    config = {"dataset": dataset, "setting": setting, "search_config": cfg, "beta": method.beta,
              "loop": loop.__dict__, "protocol": protocol.model_dump(include=set(Protocol.model_fields))}
    tags = {"stage": "reference" if erm else "sweep", "dataset": dataset, "setting": setting, "seed": seed}
    evals = {k: splits[k] for k in ("train", "val", "test")}
    model = build(protocol, train, cfg, seed, train.y.device)
    spec = {"name": run_name, "config": config, "tags": tags}
    ((result, run_id),) = tracked_fit(tracker or Tracker(dataset), [spec], [model], [method], evals, [loop])
    info = {"benchmark": dataset, "setting": setting, "seed": seed, "config": config,
            "paper_selection": s.paper_selection}
    summary = write_summary(out_path, result, run_id, info)
    return RunOutput(summary, model, result.states)


def confidence_scores(model: torch.nn.Module, train: Split, batch_size: int) -> np.ndarray:
    """softmax(f̃(x))_y for every training sample (Algorithm 2, step 2), in eval mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(train), batch_size):
            probs = torch.softmax(model(train.x[i : i + batch_size]).float(), 1)
            out.append(probs.gather(1, train.y[i : i + batch_size, None])[:, 0])
    return torch.cat(out).cpu().numpy()
