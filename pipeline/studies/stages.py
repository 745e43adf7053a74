"""What each stage of a declared dataset does: fetch, prepare, reference (biased) model, sweep + seeds, Table 3.

The search follows SubpopBench: ``search.configs`` configurations with ``search.seed`` (config 0 = the paper's
values; a row may instead train config 0 alone or its own grid, and fix values: ``studies.rows.<row>.search`` /
``config``), the winner chosen on validation data by the setting's metric, then rerun with every seed (the search run
itself is reused for the seed it was trained with: same config, same seed, same result).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gerne.data.contract import Split
from gerne.device import resolve_device
from gerne.errors import ConfigError, DataError
from gerne.groups import reference_confidence
from gerne.io import atomic_path, reuse_finished, staged_dir, write_json
from pipeline.runs.common import load_splits
from pipeline.studies.config import DEFAULT_ROWS, REFERENCE, Dataset, RowParams, StudiesParams
from pipeline.studies.runs import grouped_method, run
from pipeline.studies.search import config0, row_configs

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params

log = logging.getLogger(__name__)


def declared(params: Params, dataset: str) -> tuple[StudiesParams, Dataset]:
    """The ``studies`` section and ``dataset``'s declaration (ConfigError naming the declared ones otherwise)."""
    if dataset not in params.datasets:
        raise ConfigError(f"params.yaml declares no dataset '{dataset}' under datasets (declared: "
                          f"{sorted(params.datasets)}); see the README, \"Your own dataset\"")
    return params.studies, params.datasets[dataset]


def fetch(params: Params, dataset: str, raw_dir: str | Path) -> dict[str, str]:
    """Download (or copy from the protocol's ``mirror``), verify and extract the release; record checksums."""
    from gerne.data.fetch import fetch_sources
    from gerne.data.registry import get_dataset

    _, decl = declared(params, dataset)
    mirror = Path(decl.mirror) if decl.mirror else None
    entry = get_dataset(decl.kind)
    if entry.fetch is not None:
        sums = entry.fetch(Path(raw_dir), mirror)
    else:
        hint = entry.fetch_hint or " Or put the release files in a directory and set its `mirror` parameter."
        sums = fetch_sources(list(entry.sources), Path(raw_dir), mirror,
                             hint=f"{hint} (params.yaml: datasets.{dataset}.mirror)")
    write_json(Path(raw_dir) / "checksums.json", sums)
    return sums


def prepare(params: Params, dataset: str, raw_dir: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Normalise the raw files into the dataset contract and assert its group counts (where they are known)."""
    from gerne.data.registry import get_dataset

    _, decl = declared(params, dataset)
    prepared = get_dataset(decl.kind).prepare(Path(raw_dir), Path(out_dir), **decl.prepare)
    log.info("%s prepared: %d samples, %.1f per second", dataset, prepared.rows, prepared.per_second)
    return {"rows": prepared.rows, "seconds": prepared.seconds, "counts": prepared.counts}


def _splits(params: Params, data_dir: str | Path) -> dict[str, Split]:
    return load_splits(data_dir, resolve_device(params.studies.device, "studies.device"))


def train_reference(params: Params, dataset: str, data_dir: str | Path, scores_path: str | Path,
                    summary_path: str | Path) -> dict[str, Any]:
    """Algorithm 2 step 1: class-balanced ERM with lr ×0.1 and wd ×2 at config 0, checkpoint by val CBA; writes
    softmax(f̃(x))_y of every training sample to ``scores_path`` (``.npy``)."""
    sp, protocol = declared(params, dataset)
    protocol = protocol.model_copy(update={"track_both_losses": False})  # ERM: no L_lb to log (as Table 1's f̃)
    splits = _splits(params, data_dir)
    cfg = {**config0(protocol), "c": 1.0, "beta": -1.0}  # class-balanced ERM: β = −1 leaves the biased batch
    out = run(protocol, splits, dataset=dataset, row="biased", spec=REFERENCE, cfg=cfg, seed=sp.reference.seed,
              out_path=summary_path, name=f"{dataset}-biased", lr_factor=sp.reference.lr_factor,
              wd_factor=sp.reference.weight_decay_factor)
    out.model.load_state_dict(out.states["best_val"])
    scores = reference_confidence(out.model, splits["train"], protocol.eval_batch_size)
    with atomic_path(scores_path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, scores.astype(np.float32))
    return out.summary


def _reusable(path: Path, cfg: dict[str, Any]) -> bool:
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text())["config"]["search_config"] == json.loads(json.dumps(cfg))
    except (json.JSONDecodeError, KeyError):
        return False


def _load_scores(setting: str, spec: RowParams, scores_path: str | Path | None) -> np.ndarray | None:
    if spec.groups != "confidence":
        return None
    if scores_path is None or not Path(scores_path).is_file():
        raise DataError(f"row {setting} needs the reference model's scores ({scores_path}); run its reference stage")
    return np.load(scores_path)


def select(sweep_dir: str | Path, trained: list[int], seed: int, metric: str) -> dict[str, Any]:
    """The config with the best validation ``metric`` at its best-validation checkpoint among the ``trained``
    indices (ties: lowest index)."""
    if not trained:
        raise DataError(f"{sweep_dir}: no config was trained (every grid point lies outside Eq. 9?); widen the "
                        "row's search grid")
    scored = []
    for i in trained:
        summary = json.loads((Path(sweep_dir) / f"config{i}" / f"seed{seed}.json").read_text())
        best = summary["selections"].get("best_val")
        value = best["metrics"].get(metric, float("-inf")) if best else float("-inf")
        scored.append({"config": i, "search_config": summary["config"]["search_config"], "value": value})
    winner = max(scored, key=lambda s: (s["value"], -s["config"]))
    return {"metric": metric, "best": winner, "candidates": scored}


def _inadmissible(protocol: Dataset, splits: dict[str, Split], dataset: str, row: str, spec: RowParams,
                  grid: list[dict[str, Any]], scores: np.ndarray | None) -> dict[int, str]:
    """Grid points refused on the training groups (β outside Eq. 9), by index with the reason; a single config
    must be admissible (it raises here, before anything trains), and a random search draws β inside the bounds, so
    it is not checked twice (each run checks its own config before training)."""
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
    return skipped


def search(params: Params, dataset: str, setting: str, data_dir: str | Path, sweep_dir: str | Path,
           out_dir: str | Path, scores_path: str | Path | None = None) -> dict[str, Any]:
    """Search ``studies.search.configs`` configs, select on validation, rerun the winner per seed.

    Both folders are built beside their targets and swapped in when complete, so a failure or kill leaves the
    previous results; a rerun resumes from the partial folder and reuses every run of an unchanged config.
    """
    sp, protocol = declared(params, dataset)
    if setting not in sp.rows:
        raise ConfigError(f"unknown row '{setting}'; defined under studies.rows: {sorted(sp.rows)}")
    spec = sp.rows[setting]
    splits, scores = _splits(params, data_dir), _load_scores(setting, spec, scores_path)
    grid, seed0 = row_configs(protocol, sp.search, spec), sp.search.seed
    skipped = _inadmissible(protocol, splits, dataset, setting, spec, grid, scores)
    with staged_dir(sweep_dir, resume=True) as work:
        for i, cfg in enumerate(grid):
            def done(folder: Path, c: dict[str, Any] = cfg) -> bool:
                return _reusable(folder / f"seed{seed0}.json", c)

            if i in skipped or reuse_finished(work, Path(sweep_dir), f"config{i}", done):
                continue
            run(protocol, splits, dataset=dataset, row=setting, spec=spec, cfg=cfg, seed=seed0, scores=scores,
                out_path=work / f"config{i}" / f"seed{seed0}.json", name=f"{dataset}-{setting}-config{i}")
        choice = select(work, [i for i in range(len(grid)) if i not in skipped], seed0, spec.select)
        choice["skipped"] = [{"config": i, "search_config": grid[i], "reason": why} for i, why in skipped.items()]
        write_json(work / "selected.json", choice)
    best = choice["best"]
    with staged_dir(out_dir, resume=True) as work:
        for seed in sp.seeds:
            if seed == seed0:
                winner = Path(sweep_dir) / f"config{best['config']}" / f"seed{seed}.json"
                shutil.copyfile(winner, work / f"seed{seed}.json")
            elif not reuse_finished(work, Path(out_dir), f"seed{seed}.json",
                                    lambda f: _reusable(f, best["search_config"])):
                run(protocol, splits, dataset=dataset, row=setting, spec=spec, cfg=best["search_config"], seed=seed,
                    out_path=work / f"seed{seed}.json", scores=scores, name=f"{dataset}-{setting}-best-s{seed}")
    return choice


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
    sp, protocol = declared(params, dataset)
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
        jobs = [("full", {"train": val, "val": val, "test": test}, seed, work / "full" / f"seed{seed}.json")
                for seed in sp.seeds]
        jobs += [(f"cv{k}", data, seed, work / "cv" / f"fold{k}-seed{seed}.json")
                 for k, data in enumerate(parts) for seed in sp.seeds]
        known = DEFAULT_ROWS["yes_yes"]  # GERNE on the true groups, config 0
        return [run(protocol, data, dataset=dataset, row="yes_yes", spec=known, cfg=cfg, seed=seed, out_path=path,
                    name=f"{dataset}-valonly-{tag}-s{seed}").summary for tag, data, seed, path in jobs]
