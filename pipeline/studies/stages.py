"""What each stage of a declared dataset does: fetch, prepare, train (one config, every seed), sweep (a search, then
the winner with every seed), Table 3 (the reference model and its scores: ``pipeline.studies.reference``).

The search follows SubpopBench: ``search.configs`` configurations with ``search.seed`` (config 0 = the paper's
values; a row may instead train config 0 alone or its own grid, and fix values: ``studies.rows.<row>.search`` /
``config``), the winner chosen on validation data by the setting's metric, then rerun with every seed (the search run
itself is reused for the seed it was trained with: same config, same seed, same result).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gerne import layout
from gerne.data.contract import Split
from gerne.device import resolve_device
from gerne.errors import ConfigError, DataError
from gerne.io import reuse_finished, staged_dir, write_json
from gerne.methods import METHODS
from gerne.tracking import Tracker
from pipeline.runs.common import load_splits
from pipeline.schema import hint as _hint
from pipeline.studies.config import DEFAULT_ROWS, Dataset, RowParams, StudiesParams
from pipeline.studies.launch import StackWork, check_cluster, launch
from pipeline.studies.paper_protocol import best_on_test, extra_seeds
from pipeline.studies.protocols import protocol_for
from pipeline.studies.reference import load_confidence, load_state
from pipeline.studies.resume import data_identity, is_done, stamped
from pipeline.studies.runs import Job, expected_record, experiment, grouped_method, run, run_stack, stacks
from pipeline.studies.search import config0, row_configs

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params

log = logging.getLogger(__name__)


def fetch(params: Params, dataset: str, raw_dir: str | Path) -> dict[str, str]:
    """Download (or copy from this machine's mirror, ``pipeline.local``), verify and extract the release; record
    checksums (what the later stages depend on, whatever the files' origin)."""
    from gerne.data.fetch import fetch_sources
    from gerne.data.registry import get_dataset
    from pipeline.local import mirror_for, mirror_hint

    _, decl = params.declared(dataset)
    mirror, origin = mirror_for(dataset)
    if mirror is not None:
        log.info("%s: release files from the mirror %s (%s)", dataset, mirror, origin)
    entry = get_dataset(decl.kind)
    if entry.fetch is not None:
        sums = entry.fetch(Path(raw_dir), mirror)
    else:
        sums = fetch_sources(list(entry.sources), Path(raw_dir), mirror,
                             hint=(entry.fetch_hint or "") + mirror_hint(dataset))
    write_json(Path(raw_dir) / "checksums.json", sums)
    return sums


def prepare(params: Params, dataset: str, raw_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Normalise the raw files into the dataset contract and assert its group counts (where they are known)."""
    from gerne.data.registry import get_dataset

    _, decl = params.declared(dataset)
    prepared = get_dataset(decl.kind).prepare(Path(raw_dir), Path(out_dir), **decl.prepare)
    log.info("%s prepared: %d samples, %.1f per second", dataset, prepared.rows, prepared.per_second)
    return {"rows": prepared.rows, "seconds": prepared.seconds, "counts": prepared.counts}


def _splits(params: Params, data_dir: str | Path) -> dict[str, Split]:
    return load_splits(data_dir, resolve_device(params.studies.device, "studies.device"))


def load_edge(setting: str, spec: RowParams, scores_path: str | Path | None) -> np.ndarray | dict | None:
    """The row's reference edge: the checkpoint for methods that start from f̃, the scores for scored groupings."""
    if METHODS[spec.method].needs_reference:
        return load_state(scores_path, f"row {setting}")
    return load_confidence(scores_path, f"row {setting}") if spec.grouping.scored else None


def _identity(data_dir: str | Path, spec: RowParams, input_path: str | Path | None) -> str:
    """The data a row's runs are stamped with: the prepared dataset, and the reference checkpoint for methods that
    start from it (a retrained reference retrains them)."""
    identity = data_identity(data_dir)
    if METHODS[spec.method].needs_reference and input_path is not None:
        identity += " reference:sha256:" + hashlib.sha256(Path(input_path).read_bytes()).hexdigest()
    return identity




def point_of(protocol: Dataset, spec: RowParams, cfg: dict[str, Any]) -> dict[str, Any]:
    """A config's grid values as recorded (t as the absolute share); the whole config for other searches."""
    if not isinstance(spec.search, dict):
        return dict(cfg)
    return {k: protocol.absolute_t(cfg[k]) if k == "t" else cfg[k] for k in spec.search}


def folder_of(spec: RowParams, index: int, point: dict[str, Any]) -> str:
    """Where a config's run lies: named by its grid values (``sweep_known_c0.5_b1.0``: stable when the grid is
    extended), or ``config<i>`` for the seeded draws (stable as well: draw i never changes)."""
    if isinstance(spec.search, dict):
        return f"sweep_{spec.grouping.case}_" + "_".join(f"{k[0]}{v!r}" for k, v in point.items())
    return f"config{index}"


def select(sweep_dir: str | Path, trained: list[dict[str, Any]], seed: int, metric: str) -> dict[str, Any]:
    """The ``trained`` config (``name``: its folder) with the best validation ``metric`` at its best-validation
    checkpoint (ties: the first in search order)."""
    if not trained:
        raise DataError(f"{sweep_dir}: no config was trained (every grid point lies outside Eq. 9?); widen the "
                        "row's search grid")
    scored = []
    for entry in trained:
        summary = json.loads(layout.summary(Path(sweep_dir) / entry["name"], seed).read_text())
        best = summary["selections"].get("best_val")
        value = best["metrics"].get(metric, float("-inf")) if best else float("-inf")
        scored.append({**entry, "metric": metric, "value": value, "epoch": best["epoch"] if best else None})
    return {"metric": metric, "best": max(scored, key=lambda s: s["value"]), "candidates": scored}


def inadmissible(protocol: Dataset, splits: dict[str, Split], dataset: str, row: str, spec: RowParams,
                 grid: list[dict[str, Any]], scores: np.ndarray | dict[str, Any] | None) -> dict[int, str]:
    """Grid points refused on the training groups (β outside Eq. 9), by index with the reason. A single config
    must be admissible, and so must one point of a grid (it raises here, before anything trains). A random search
    draws β inside the bounds, so it is not checked twice (each run checks its own config before training)."""
    skipped: dict[int, str] = {}
    if spec.search == "random":
        return skipped
    for i, cfg in enumerate(grid):
        try:
            grouped_method(protocol, splits["train"], dataset=dataset, row=row, spec=spec, cfg=cfg, scores=scores)
        except ConfigError as exc:
            if not isinstance(spec.search, dict):
                raise
            skipped[i] = str(exc)
            log.info("%s %s config %d skipped: %s", dataset, row, i, exc)
    if grid and len(skipped) == len(grid):  # nothing would train: say why, not "no config was trained"
        raise ConfigError(f"{dataset} {row}: every config of the search is refused: "
                          + "; ".join(dict.fromkeys(skipped.values())))
    return skipped


def _row(params: Params, dataset: str, setting: str) -> tuple[StudiesParams, Dataset, RowParams]:
    sp, protocol = params.declared(dataset)
    if setting not in sp.rows:
        raise ConfigError(f"unknown row '{setting}'; defined under studies.rows{_hint(setting, sp.rows)}")
    return sp, protocol_for(protocol, sp.rows[setting], f"studies.rows.{setting} on {dataset}"), sp.rows[setting]


_WORKER_DATA: dict[tuple, tuple] = {}  # a Ray worker process's loaded splits and scores (one stage's at a time)


@dataclass
class StageStack:
    """Trains one stack of a stage's runs in whichever process the launcher picks: this one (the stage's loaded
    splits and reference scores) or a Ray task (it reads them from their paths once per worker process)."""

    params: Params
    dataset: str
    setting: str
    data_dir: str
    scores_path: str | None
    tracker: Tracker | None
    splits: dict[str, Split] | None = None
    scores: np.ndarray | dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "splits": None, "scores": None}  # a task loads its own (on its own device)

    def __call__(self, jobs: list[Job]) -> list[dict[str, Any]]:
        _, protocol, spec = _row(self.params, self.dataset, self.setting)
        if self.splits is None:  # in a task: the worker's data of this stage, loaded by its first task
            key = (self.data_dir, self.scores_path, self.setting, self.params.studies.device)
            if key not in _WORKER_DATA:
                _WORKER_DATA.clear()
                _WORKER_DATA[key] = (_splits(self.params, self.data_dir),
                                     load_edge(self.setting, spec, self.scores_path))
            self.splits, self.scores = _WORKER_DATA[key]
        outputs = run_stack(protocol, self.splits, jobs, dataset=self.dataset, row=self.setting, spec=spec,
                            scores=self.scores, tracker=self.tracker)
        return [o.summary for o in outputs]


def _fit(params: Params, dataset: str, setting: str, splits: dict[str, Split], jobs: list[Job],
         scores: np.ndarray | dict[str, Any] | None, inputs: tuple[str | Path, str | Path | None],
         tracker: Tracker | None = None) -> None:
    """Train ``jobs`` ``studies.stack_size`` at a time, one stacked model each, with the ``launch`` section's
    launcher (``inputs``: the data folder and reference file a Ray task reads). Nothing to train opens nothing."""
    if not jobs:
        return
    sp, protocol, spec = _row(params, dataset, setting)
    data_dir, reference = (None if path is None else str(Path(path).resolve()) for path in inputs)  # for any worker
    work = StageStack(params, dataset, setting, data_dir, reference,
                      tracker or Tracker(experiment(dataset, protocol)), splits, scores)
    launch(params.launch, StackWork(work, f"{dataset} {setting}"), stacks(protocol, spec, jobs, sp.stack_size))


def _seeds(params: Params, dataset: str, setting: str, splits: dict[str, Split], cfg: dict[str, Any],
           out_dir: str | Path, scores: np.ndarray | dict[str, Any] | None, identity: str,
           inputs: tuple[str | Path, str | Path | None], reuse: dict[int, Path] | None = None) -> None:
    """Every seed of one config into ``out_dir/seed<n>.json``, built beside it and swapped in when complete; a run
    whose fingerprint matches (in the partial or the finished folder, either stamped with the data ``identity``)
    is reused, and ``reuse`` names finished summaries to copy for some seeds (the search run of the winner)."""
    sp, protocol, spec = _row(params, dataset, setting)
    with staged_dir(out_dir, resume=True) as work:
        previous, jobs = stamped(work, Path(out_dir), identity), []
        for seed in sp.seeds:
            if reuse_finished(work, previous, layout.summary(work, seed).name,
                              lambda f, s=seed: is_done(f, expected_record(protocol, spec, cfg, s))):
                log.info("%s %s: seed %d already trained (same fingerprint), reused", dataset, setting, seed)
            elif reuse and seed in reuse:
                shutil.copyfile(reuse[seed], layout.summary(work, seed))
            else:
                jobs.append(Job(cfg, seed, layout.summary(work, seed), f"{dataset}-{setting}-s{seed}"))
        _fit(params, dataset, setting, splits, jobs, scores, inputs)


def train(params: Params, dataset: str, setting: str, data_dir: str | Path, out_dir: str | Path,
          scores_path: str | Path | None = None) -> dict[str, Any]:
    """A row with one config (``search: none``: config 0 with the row's ``config``) trained with every seed; the
    config is checked on the training groups (β inside Eq. 9) before anything trains. Returns the config."""
    _, protocol, spec = _row(params, dataset, setting)
    if spec.search != "none":
        raise ConfigError(f"row {setting} searches ({spec.search}); it runs in a sweep stage, not a train stage")
    check_cluster(params.launch)  # a Ray cluster that is not there fails the stage now, not in minutes
    splits, scores = _splits(params, data_dir), load_edge(setting, spec, scores_path)
    (cfg,) = row_configs(protocol, params.studies.search, spec)
    grouped_method(protocol, splits["train"], dataset=dataset, row=setting, spec=spec, cfg=cfg, scores=scores)
    _seeds(params, dataset, setting, splits, cfg, out_dir, scores, _identity(data_dir, spec, scores_path),
           (data_dir, scores_path))
    return cfg


def search(params: Params, dataset: str, setting: str, data_dir: str | Path, sweep_dir: str | Path,
           out_dir: str | Path, scores_path: str | Path | None = None) -> dict[str, Any]:
    """Train every config of the row's search once (``studies.search.seed``), select on validation, rerun the
    winner with every other seed (the search run is the winner's run for the search seed).

    Both folders are built beside their targets and swapped in when complete, so a failure or kill leaves the
    previous results; a rerun resumes from the partial folder and reuses every run whose fingerprint
    (``pipeline.studies.resume``) matches, in either folder.
    """
    sp, protocol, spec = _row(params, dataset, setting)
    check_cluster(params.launch)  # a Ray cluster that is not there fails the stage now, not in minutes
    splits, scores = _splits(params, data_dir), load_edge(setting, spec, scores_path)
    grid, seed0 = row_configs(protocol, sp.search, spec), sp.search.seed
    skipped = inadmissible(protocol, splits, dataset, setting, spec, grid, scores)
    entries = []
    for i, cfg in enumerate(grid):
        point = point_of(protocol, spec, cfg)
        entries.append({"config": i, "name": folder_of(spec, i, point), "point": point, "search_config": cfg})
    identity = _identity(data_dir, spec, scores_path)
    with staged_dir(sweep_dir, resume=True, keep_files=True) as work:  # a legacy record stays
        jobs = _search_jobs(work, stamped(work, Path(sweep_dir), identity),
                            [e for e in entries if e["config"] not in skipped], protocol, spec, seed0,
                            f"{dataset} {setting}")
        def chosen() -> dict[str, Any]:  # the validation choice, written before the later phases read it
            out = {"seed": seed0, "kind": spec.grouping.case,
                   **select(work, [e for e in entries if e["config"] not in skipped], seed0, spec.select),
                   "skipped": [{**entries[i], "reason": why} for i, why in skipped.items()]}
            write_json(layout.selected(work), out)
            return out

        def later(choice: dict[str, Any]) -> list[list[Job]]:
            """The test-best point's other seeds (the paper's protocol), every point's (Fig. 3), not yet trained."""
            return [_test_best_jobs(work, entries, skipped, choice, protocol, spec, sp.seeds, f"{dataset}-{setting}")
                    if spec.test_selection else [],
                    [job for e in entries if e["config"] not in skipped
                     for job in _seed_jobs(work, e, [s for s in sp.seeds if s != seed0], protocol, spec,
                                           f"{dataset}-{setting}")] if dataset in spec.every_seed_on else []]

        choice = None if jobs else chosen()
        phases = [] if jobs else later(choice)
        if jobs or any(phases):  # else every run is reused: no MLflow run is opened
            tracker = Tracker(experiment(dataset, protocol))
            with tracker.run(f"{dataset}-{setting}-search", params={"search": spec.search, "seed": seed0},
                             tags={"stage": "sweep", "dataset": dataset, "setting": setting, "configs": len(entries),
                                   "to_train": len(jobs)}) as parent:  # the configs' runs are its children
                fit = tracker.child(parent.run_id)
                _fit(params, dataset, setting, splits, jobs, scores, (data_dir, scores_path), fit)
                choice = choice or chosen()
                for phase in phases or later(choice):
                    _fit(params, dataset, setting, splits, phase, scores, (data_dir, scores_path), fit)
                parent.log_metrics({f"best/{spec.select}": choice["best"]["value"], "configs_trained": len(jobs),
                                    "configs_skipped": len(skipped)}, step=0)
                parent.set_tags({"selected": choice["best"]["name"]})
    best = choice["best"]
    _seeds(params, dataset, setting, splits, best["search_config"], out_dir, scores, identity, (data_dir, scores_path),
           reuse={s: path for s in sp.seeds if (path := layout.summary(Path(sweep_dir) / best["name"], s)).is_file()})
    return choice


def _search_jobs(work: Path, previous: Path | None, entries: list[dict[str, Any]], protocol: Dataset,
                 spec: RowParams, seed0: int, what: str) -> list[Job]:
    """The search points of ``entries`` still to train with ``seed0``; a finished one (same fingerprint, in the
    partial folder or the previous result ``previous``) is kept in ``work``."""
    jobs = []
    for entry in entries:
        def done(folder: Path, e: dict[str, Any] = entry) -> bool:
            return is_done(layout.summary(folder, seed0), expected_record(protocol, spec, e["search_config"], seed0))

        if reuse_finished(work, previous, entry["name"], done):
            log.info("%s: %s already trained (same fingerprint), reused", what, entry["name"])
            continue
        jobs.append(Job(entry["search_config"], seed0, layout.summary(work / entry["name"], seed0),
                        f"{what.replace(' ', '-')}-{entry['name']}"))
    return jobs


def _test_best_jobs(work: Path, entries: list[dict[str, Any]], skipped: dict[int, str], choice: dict[str, Any],
                    protocol: Dataset, spec: RowParams, seeds: list[int], name: str) -> list[Job]:
    """The runs the test-best grid point still needs (``pipeline.studies.paper_protocol``), finished ones kept."""
    seed0 = choice["seed"]
    point = best_on_test(work, [e for e in entries if e["config"] not in skipped], seed0, protocol.oracle_metric)
    return _seed_jobs(work, point, extra_seeds(point, choice["best"]["name"], seeds, seed0), protocol, spec, name)


def _seed_jobs(work: Path, point: dict[str, Any], seeds: list[int], protocol: Dataset, spec: RowParams,
               name: str) -> list[Job]:
    """The runs of grid ``point`` with ``seeds`` in its sweep folder that are not trained yet."""
    jobs = []
    for seed in seeds:
        path = layout.summary(work / point["name"], seed)
        if not is_done(path, expected_record(protocol, spec, point["search_config"], seed)):
            jobs.append(Job(point["search_config"], seed, path, f"{name}-{point['name']}-s{seed}"))
    return jobs


def stratified_folds(y: torch.Tensor, a: torch.Tensor, num_attributes: int, folds: int, seed: int) -> np.ndarray:
    """Fold index per sample such that every (y, a) group is spread evenly over the folds (Appendix G)."""
    gid = (y * num_attributes + a).cpu().numpy()
    rng = np.random.default_rng(seed)
    fold = np.empty(len(gid), dtype=np.int64)
    for g in np.unique(gid):
        idx = rng.permutation(np.flatnonzero(gid == g))
        fold[idx] = np.arange(len(idx)) % folds
    return fold


def _subset(split: Split, mask: np.ndarray) -> Split:
    idx = torch.from_numpy(np.flatnonzero(mask)).to(split.y.device)
    return Split(split.x.index_select(0, idx), split.y[idx], split.a[idx], split.num_classes, split.num_attributes)


def table3(params: Params, data_dir: str | Path, out_dir: str | Path, dataset: str = "celeba") -> list[dict]:
    """Appendix G: GERNE (known attributes, config 0) trained on the validation split only.

    Experiment ``full``: train on all of val, report the checkpoint with the best test WGA (the paper's rule).
    Experiment ``cv``: ``folds`` group-stratified folds; train on the others, choose the checkpoint on the held-out
    fold's WGA, report test WGA; folds × seeds runs.
    """
    sp, protocol = params.declared(dataset)
    splits, cfg = _splits(params, data_dir), config0(protocol)
    val, test = splits["val"], splits["test"]
    fold = stratified_folds(val.y, val.a, val.num_attributes, sp.table3.folds, seed=0)
    parts = [{"train": _subset(val, fold != k), "val": _subset(val, fold == k), "test": test}
             for k in range(sp.table3.folds)]
    for k, data in enumerate(parts):  # checked before anything trains
        for role in ("train", "val"):
            absent = sorted(set(range(val.num_classes)) - set(data[role].y.unique().tolist()))
            if absent:
                raise DataError(f"{data_dir}: the validation split is too small for {sp.table3.folds} folds "
                                f"(classes {absent} are missing from fold {k}'s {role} part); lower "
                                "studies.table3.folds")
    with staged_dir(out_dir) as work:  # swapped in when every run has finished
        jobs = [("full", {"train": val, "val": val, "test": test}, seed, layout.summary(work / "full", seed))
                for seed in sp.seeds]
        jobs += [(f"cv{k}", data, seed, layout.fold_summary(work / "cv", k, seed))
                 for k, data in enumerate(parts) for seed in sp.seeds]
        known = DEFAULT_ROWS["yes_yes"]  # GERNE on the true groups, config 0
        return [run(protocol, data, dataset=dataset, row="yes_yes", spec=known, cfg=cfg, seed=seed, out_path=path,
                    name=f"{dataset}-valonly-{tag}-s{seed}").summary for tag, data, seed, path in jobs]
