"""One run on a declared dataset under the SubpopBench protocol: a row, a search config and a seed.

A row (``studies.rows``) is a method, the grouping it trains on and the validation metric that chooses its
checkpoint. The paper's rows (BENCHMARKS.md, Sec. 5): attributes known in train and val (``yes_yes``), unknown in
train but known in val (``no_yes``: pseudo-attributes, chosen by val WGA) and unknown in both (``no_no``: val
worst-class accuracy). Attributes are hidden from the method, never from the evaluation. Every run evaluates the
full val and test splits every ``eval_every`` steps and keeps all metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gerne.data.contract import Split
from gerne.errors import ConfigError, DataError
from gerne.groups import apply_grouping
from gerne.methods import METHODS, build_method
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig
from pipeline.runs.common import seeded_model, tracked_fit, write_summary
from pipeline.studies.config import REFERENCE, Dataset, Protocol, RowParams
from pipeline.studies.resume import training_record


@dataclass
class RunOutput:
    """A finished run: its summary (as written), the model (last state) and the kept states by selection."""

    summary: dict[str, Any]
    model: torch.nn.Module
    states: dict[str, dict[str, torch.Tensor]]


def method_for(protocol: Protocol, train: Split, cfg: dict[str, Any], spec: RowParams, what: str,
               reference: dict[str, Any] | None = None) -> Any:
    """The row's method for ``cfg`` (its options from the method's own ``from_protocol``), set up on ``train``;
    methods that start from the reference model get its checkpoint."""
    entry = METHODS[spec.method]
    options = entry.from_protocol(protocol, train, cfg, spec.grouping.share is not None,
                                  reference if entry.needs_reference else None)
    if spec.beyond_eq9_bound:  # Fig. 2 only: the literal β of the row's config, never a position inside Eq. 9
        if options.get("beta") != float(cfg["beta"]):
            raise ConfigError(f"{what}: beyond_eq9_bound trains the literal config beta, got {options.get('beta')}")
        options["beyond_eq9_bound"] = True
    method = build_method(spec.method, **options)
    method.setup(train, what=what)
    return method


def loop_config(protocol: Protocol, cfg: dict[str, Any], seed: int, select_metric: str,
                lr_factor: float = 1.0, wd_factor: float = 1.0, evaluate_train: bool = False) -> LoopConfig:
    """The loop of the protocol for one config and seed: ``steps`` evaluated every ``eval_every``, or ``epochs``
    evaluated after each."""
    by_epoch = protocol.epochs is not None
    return LoopConfig(epochs=protocol.epochs or 1, lr=cfg["lr"] * lr_factor, momentum=protocol.momentum,
                      weight_decay=protocol.weight_decay * wd_factor,
                      steps_per_epoch=protocol.steps_per_epoch if by_epoch else protocol.eval_every,
                      total_steps=0 if by_epoch else protocol.steps, seed=seed, select_metric=select_metric,
                      oracle_metric=protocol.oracle_metric,
                      evaluate_train=evaluate_train, precision=protocol.precision, optimizer=protocol.optimizer,
                      schedule=protocol.schedule, clip_norm=protocol.clip_norm,
                      eval_batch_size=protocol.eval_batch_size)


def build(protocol: Protocol, split: Split, cfg: dict[str, Any], seed: int, device: torch.device) -> torch.nn.Module:
    """The protocol's model for ``split``'s inputs, initialised with ``seed`` (dropout from the config if searched)."""
    options = dict(protocol.model_options)
    if "dropout" in cfg:
        options["dropout"] = cfg["dropout"]
    return seeded_model(protocol.model, split, seed, device, **options)


def experiment(dataset: str, protocol: Protocol) -> str:
    """The MLflow experiment of ``dataset``'s runs: its own name, or its base's for a variant (one experiment holds
    every variant, told apart by the ``dataset`` tag)."""
    return getattr(protocol, "variant_of", None) or dataset


def grouped_method(protocol: Dataset, train: Split, *, dataset: str, row: str, spec: RowParams,
                   cfg: dict[str, Any], scores: np.ndarray | dict[str, Any] | None) -> tuple[Split, Any]:
    """The training split with the row's groups and its method set up on them; ConfigError (before anything
    trains) where the config is inadmissible there, e.g. β outside Eq. 9. ``scores``: the reference edge, its
    scores (scored groupings) or its checkpoint (methods that start from it)."""
    groups = spec.grouping
    if groups.scored:
        if scores is None:
            raise DataError(f"row {row} needs the reference model's scores (run its reference stage first)")
        share = {groups.share: protocol.absolute_t(cfg[groups.share])} if groups.share else {}
        train = apply_grouping(spec.groups, train, scores=scores, **share)
    else:
        train = apply_grouping(spec.groups, train)
    reference = scores if METHODS[spec.method].needs_reference else None
    return train, method_for(protocol, train, cfg, spec, f"{row} training groups of {dataset}", reference)


def expected_record(protocol: Dataset, spec: RowParams, cfg: dict[str, Any], seed: int, lr_factor: float = 1.0,
                    wd_factor: float = 1.0) -> dict[str, Any]:
    """What decides the numbers of the run of ``cfg`` with ``seed`` (``pipeline.studies.resume``)."""
    return _record(protocol, spec, cfg, loop_config(protocol, cfg, seed, spec.select, lr_factor, wd_factor,
                                                    spec.eval_train))


def _record(protocol: Dataset, spec: RowParams, cfg: dict[str, Any], loop: LoopConfig) -> dict[str, Any]:
    share = spec.grouping.share  # a pseudo-minority share: pseudo-groups with their own batch size
    batch = {"batch_size": protocol.batch_size, "batch_unit": protocol.batch_unit,
             "pseudo_batch_size": protocol.pseudo_batch_size if share else None,
             "track_both_losses": protocol.track_both_losses,
             **{k: getattr(protocol, k) for k in METHODS[spec.method].recorded}}
    record = training_record(spec.method, spec.groups, cfg, protocol.absolute_t(cfg[share]) if share else None,
                             {"name": protocol.model, **protocol.model_options}, batch, loop.__dict__)
    return {**record, "beyond_eq9_bound": True} if spec.beyond_eq9_bound else record  # never a normal run's match


@dataclass(frozen=True)
class Job:
    """One run of a stage: its config, seed, summary path and MLflow run name."""

    cfg: dict[str, Any]
    seed: int
    out_path: Path
    name: str


def stacks(protocol: Dataset, spec: RowParams, jobs: list[Job], size: int) -> list[list[Job]]:
    """``jobs`` in order, cut into stacks of at most ``size`` runs that can share one stacked model (the same
    schedule: budget, lr, optimiser, precision; the same model options): a random search's configs draw their own
    lr, so they stack only with the seeds of the same config. A method that cannot stack (DFR) trains one run each."""
    size = size if METHODS[spec.method].stackable else 1

    def key(job: Job) -> tuple:
        c = loop_config(protocol, job.cfg, job.seed, spec.select)
        return (c.epochs, c.lr, c.weight_decay, c.total_steps, c.steps_per_epoch, job.cfg.get("dropout"))

    out: list[list[Job]] = []
    for job in jobs:
        if out and len(out[-1]) < size and key(out[-1][0]) == key(job):
            out[-1].append(job)
        else:
            out.append([job])
    return out


def build_stack(protocol: Dataset, splits: dict[str, Split], jobs: list[Job], *, dataset: str, row: str,
                spec: RowParams, scores: np.ndarray | dict[str, Any] | None = None, lr_factor: float = 1.0,
                wd_factor: float = 1.0) -> tuple[list[torch.nn.Module], list[Any], list[LoopConfig]]:
    """Each job's model, method (set up on the row's groups) and loop config, as the train stage trains them."""
    models, methods, loops = [], [], []
    for job in jobs:
        train, method = grouped_method(protocol, splits["train"], dataset=dataset, row=row, spec=spec, cfg=job.cfg,
                                       scores=scores)
        loops.append(loop_config(protocol, job.cfg, job.seed, spec.select, lr_factor, wd_factor, spec.eval_train))
        models.append(build(protocol, train, job.cfg, job.seed, train.y.device))
        methods.append(method)
    return models, methods, loops


def run_stack(protocol: Dataset, splits: dict[str, Split], jobs: list[Job], *, dataset: str, row: str,
              spec: RowParams, scores: np.ndarray | dict[str, Any] | None = None, tracker: Tracker | None = None,
              lr_factor: float = 1.0, wd_factor: float = 1.0, extra: dict[str, Any] | None = None) -> list[RunOutput]:
    """Train ``jobs`` (configs and seeds of one row) as one stacked model (``torch.func``; one job: a plain run),
    each its own MLflow run, and write each summary (last, best-val and oracle selections with every metric;
    ``extra``: more top-level fields, e.g. the reference model's data identity)."""
    evals = {k: splits[k] for k in ("train", "val", "test")}
    models, methods, loops = build_stack(protocol, splits, jobs, dataset=dataset, row=row, spec=spec, scores=scores,
                                         lr_factor=lr_factor, wd_factor=wd_factor)
    specs = []
    for job, method, loop in zip(jobs, methods, loops, strict=True):
        beyond = {"beyond_eq9_bound": True, "eq9_bounds": list(method.eq9_bounds)} if spec.beyond_eq9_bound else {}
        config = {"dataset": dataset, "setting": row,
                  "row": spec.model_dump(exclude=None if spec.beyond_eq9_bound else {"beyond_eq9_bound"}),
                  "search_config": job.cfg, "beta": getattr(method, "beta", None), **beyond, "loop": loop.__dict__,
                  "protocol": protocol.model_dump(include=set(Protocol.model_fields)),
                  "training": _record(protocol, spec, job.cfg, loop)}
        tags = {"stage": "reference" if spec is REFERENCE else "train", "dataset": dataset, "setting": row,
                "method": spec.method, "seed": job.seed, "stacked_runs": len(jobs),
                **({"beyond_eq9_bound": True} if beyond else {})}
        specs.append({"name": job.name, "config": config, "tags": tags})
    fitted = tracked_fit(tracker or Tracker(experiment(dataset, protocol)), specs, models, methods, evals, loops)
    outputs = []
    for job, run_spec, model, (result, run_id) in zip(jobs, specs, models, fitted, strict=True):
        info = {"benchmark": dataset, "setting": row, "method": spec.method, "seed": job.seed,
                **{k: run_spec["config"][k] for k in ("beyond_eq9_bound", "eq9_bounds") if k in run_spec["config"]},
                "config": run_spec["config"], "paper_selection": spec.paper_selection, **(extra or {})}
        outputs.append(RunOutput(write_summary(job.out_path, result, run_id, info), model, result.states))
    return outputs


def run(protocol: Dataset, splits: dict[str, Split], *, dataset: str, row: str, spec: RowParams,
        cfg: dict[str, Any], seed: int, out_path: str | Path, scores: np.ndarray | dict[str, Any] | None = None,
        tracker: Tracker | None = None, name: str | None = None, lr_factor: float = 1.0,
        wd_factor: float = 1.0, extra: dict[str, Any] | None = None) -> RunOutput:
    """Train one run of ``row`` (``spec``) and write its summary (:func:`run_stack` of one job)."""
    job = Job(cfg, seed, Path(out_path), name or f"{dataset}-{row}-s{seed}")
    (out,) = run_stack(protocol, splits, [job], dataset=dataset, row=row, spec=spec, scores=scores,
                       tracker=tracker, lr_factor=lr_factor, wd_factor=wd_factor, extra=extra)
    return out
