"""Hyper-parameter search on validation data only, and the winner rerun with every seed (issue 4 protocol).

Known attributes: a c × β grid; unknown attributes: a t × c × β grid on the pseudo-groups. Each grid point trains
once (``sweep.seed``); points whose β lies outside Eq. 9's bounds on the training groups are skipped and recorded.
The winner is the point with the best validation GBA at its best-validation epoch; test data never enters the choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gerne.device import resolve_device
from gerne.errors import ConfigError, DataError
from gerne.io import reuse_finished, staged_dir, write_json
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig
from pipeline.runs.common import load_splits
from pipeline.runs.train import Job, _run_spec, fit_jobs, setup_method, train_runs

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params, SettingParams

log = logging.getLogger(__name__)

KINDS = {"known": "known", "unknown": "pseudo"}


def point_name(kind: str, point: dict[str, float]) -> str:
    """Directory/setting name of one grid point, e.g. ``sweep_known_c0.5_b1.0``."""
    return f"sweep_{kind}_" + "_".join(f"{k[0]}{v!r}" for k, v in point.items())


def grid(params: Params, kind: str) -> list[dict[str, float]]:
    """The grid points of ``kind`` (``known`` or ``unknown``) in a fixed order (t as configured: see
    ``Params.for_ratio``)."""
    g = getattr(params.sweep, kind)
    axes = {"t": g.t} if kind == "unknown" else {}
    axes.update(c=g.c, beta=g.beta)
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def with_setting(params: Params, name: str, setting: SettingParams) -> Params:
    """``params`` with one more setting (the rest unchanged)."""
    return params.model_copy(update={"settings": {**params.settings, name: setting}})


_LOOP_DEFAULTS = {f.name: f.default for f in dataclasses.fields(LoopConfig) if f.default is not dataclasses.MISSING}


def fingerprint(config: dict[str, Any]) -> str:
    """A short hash of what decides a run's numbers: its setting, loop, model, training options and data ratio.

    Not part of it: where the data lies (``data.dir``) and ``train.stack_size`` (how runs share a stacked model,
    not the runs). Summaries written before a loop option existed hold no value for it; the option's default, which
    they trained with, is filled in, so those committed points still count as done.
    """
    config = json.loads(json.dumps(config))
    config.get("train", {}).pop("stack_size", None)
    config.get("data", {}).pop("dir", None)
    config["loop"] = {**_LOOP_DEFAULTS, **config.get("loop", {})}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _at_point(params: Params, kind: str, point: dict[str, float], name: str) -> Params:
    """``params`` with setting ``name`` = the base setting of the sweep's ``kind`` at ``point``."""
    base = params.settings[params.sweep.base[kind]]
    return with_setting(params, name, base.model_copy(update={"attributes": KINDS[kind], **point}))


def point_params(params: Params, kind: str, point: dict[str, float]) -> tuple[str, Params]:
    """The name of one grid point and ``params`` with it as a setting of that name."""
    name = point_name(kind, point)
    return name, _at_point(params, kind, point, name)


def is_done(params: Params, name: str, ratio: float, path: Path) -> bool:
    """True if ``path`` is a finished summary of exactly this point's training (same fingerprint)."""
    if not path.is_file():
        return False
    expected = _run_spec(params, name, params.sweep.seed, ratio, "", "cmnist", 1)[1]["config"]
    try:
        return fingerprint(json.loads(path.read_text()).get("config", {})) == fingerprint(expected)
    except json.JSONDecodeError:
        return False


def _reuse(point_params: Params, name: str, ratio: float, work: Path, previous: Path | None) -> bool:
    """True if the point is already trained with this configuration, in the partial folder of an interrupted run or
    in the previous (committed) sweep folder, from which it is then copied."""
    seed = point_params.sweep.seed
    return reuse_finished(work, previous, name, lambda d: is_done(point_params, name, ratio, d / f"seed{seed}.json"))


def run_sweep(params: Params, kind: str, data_dir: str | Path, ratio: float, out_dir: str | Path,
              pseudo_file: str | Path | None = None, previous: str | Path | None = None,
              tracker: Tracker | None = None) -> dict[str, Any]:
    """Train every in-bounds grid point once; write ``<out_dir>/<point>/seed<seed>.json`` and ``grid.json``.

    Points are fitted ``train.stack_size`` at a time as one stacked model (a GPU fills up; on a CPU 1 is fastest).
    A point whose summary (in ``out_dir`` or ``previous``) already holds exactly its configuration is reused, so an
    interrupted sweep resumes; folders of points outside the grid are removed. With a ``tracker`` the points are
    children of one MLflow parent run of the sweep.
    """
    if kind not in KINDS:
        raise ConfigError(f"sweep kind must be one of {sorted(KINDS)}, got '{kind}'")
    params = params.for_ratio(ratio)  # grid t values as absolute shares (point names and records use them)
    seed, work = params.sweep.seed, Path(out_dir)
    prev = Path(previous) if previous is not None and Path(previous).is_dir() else None
    splits = load_splits(data_dir, resolve_device(params.train.device))
    trained, skipped, jobs = [], [], []
    points = grid(params, kind)
    work.mkdir(parents=True, exist_ok=True)
    current = {point_name(kind, p) for p in points}
    for stale in [p for p in work.iterdir() if p.is_dir() and p.name not in current]:
        shutil.rmtree(stale)  # points of another grid never sit beside this one's
    for point in points:
        name, pparams = point_params(params, kind, point)
        summary = work / name / f"seed{seed}.json"
        if _reuse(pparams, name, ratio, work, prev):
            log.info("sweep point %s already trained with this configuration; reusing it", name)
        else:
            try:
                method = setup_method(pparams, name, splits["train"], ratio, pseudo_file)
            except ConfigError as exc:  # β outside Eq. 9: refused before training
                skipped.append({"point": point, "reason": str(exc)})
                continue
            jobs.append(Job(pparams, name, seed, method, summary))
        trained.append({"point": point, "name": name})
    log.info("sweep %s r%s: %d grid points, %d to train, %d reused, %d outside Eq. 9", kind, ratio, len(points),
             len(jobs), len(trained) - len(jobs), len(skipped))
    tracker = tracker or Tracker("cmnist")
    with tracker.run(f"sweep_{kind}-r{ratio}", params={"grid": getattr(params.sweep, kind).model_dump(),
                                                       "seed": seed, "ratio": ratio},
                     tags={"stage": "sweep", "dataset": "cmnist", "ratio": ratio, "setting": f"sweep_{kind}",
                           "points": len(points), "to_train": len(jobs)}) as parent:
        fit_jobs(jobs, splits, data_dir, ratio, tracker.child(parent.run_id))
        result = {"kind": kind, "ratio": ratio, "seed": seed, "trained": trained, "skipped": skipped}
        write_json(work / "grid.json", result)
        choice = select(work)
        best = choice["best"]
        parent.log_metrics({f"best/{best['metric']}": best["value"], "points_trained": len(jobs),
                            "points_skipped": len(skipped)}, step=0)
        parent.set_tags({"selected": best["name"]})
    return result


def select(out_dir: str | Path, metric: str = "val_gba") -> dict[str, Any]:
    """The trained point with the best ``metric`` at its best-validation epoch (ties: first in grid order)."""
    info = json.loads((Path(out_dir) / "grid.json").read_text())
    if not info["trained"]:
        raise DataError(f"{out_dir}: no grid point was trained (all outside Eq. 9?); widen the sweep grid")
    scored = []
    for entry in info["trained"]:
        summary = json.loads((Path(out_dir) / entry["name"] / f"seed{info['seed']}.json").read_text())
        chosen = summary["selections"].get("best_val")
        value = chosen["metrics"][metric] if chosen else float("-inf")
        scored.append({**entry, "metric": metric, "value": value, "epoch": chosen["epoch"] if chosen else None})
    best = max(scored, key=lambda s: s["value"])
    return {"kind": info["kind"], "ratio": info["ratio"], "best": best, "candidates": scored,
            "skipped": [s["point"] for s in info["skipped"]]}


def tuned_params(params: Params, selection: dict[str, Any], name: str) -> Params:
    """``params`` with setting ``name`` = the base setting of the sweep's kind at the selected point."""
    return _at_point(params, selection["kind"], selection["best"]["point"], name)


def tune(params: Params, kind: str, data_dir: str | Path, ratio: float, sweep_dir: str | Path,
         out_dir: str | Path, pseudo_file: str | Path | None = None) -> dict[str, Any]:
    """Sweep, select on validation GBA (recorded in ``<sweep_dir>/selected.json``), rerun the winner per seed.

    Both folders are built beside their targets and swapped in at the end, so a failed or killed tune leaves the
    previous sweep (its grid, points and selection) and tuned runs as they were; the next run resumes its points.
    """
    params = params.for_ratio(ratio)
    name = f"gerne_tuned_{kind}"
    with staged_dir(sweep_dir, resume=True) as work:
        run_sweep(params, kind, data_dir, ratio, work, pseudo_file, previous=sweep_dir)
        choice = select(work)
        write_json(work / "selected.json", choice)
        train_runs(tuned_params(params, choice, name), data_dir, ratio, name, out_dir, pseudo_file=pseudo_file)
    return choice
