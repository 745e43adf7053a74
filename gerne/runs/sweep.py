"""Hyper-parameter search on validation data only, and the winner rerun with every seed (issue 4 protocol).

Known attributes: a c × β grid; unknown attributes: a t × c × β grid on the pseudo-groups. Each grid point trains
once (``sweep.seed``); points whose β lies outside Eq. 9's bounds on the training groups are skipped and recorded.
The winner is the point with the best validation GBA at its best-validation epoch; test data never enters the choice.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

from gerne.config import Params, SettingParams
from gerne.errors import ConfigError, DataError
from gerne.io import write_json
from gerne.runs.common import load_splits, resolve_device
from gerne.runs.train import Job, _run_spec, fit_jobs, setup_method, train_runs

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


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A run's configuration without ``train.stack_size``, which changes how runs share a model, not the runs."""
    config = json.loads(json.dumps(config))
    config.get("train", {}).pop("stack_size", None)
    return config


def _done(params: Params, name: str, ratio: float, data_dir: str | Path, path: Path) -> bool:
    """True if ``path`` is a finished summary of exactly this point's configuration (resume after interruption)."""
    if not path.is_file():
        return False
    expected = _run_spec(params, name, params.sweep.seed, ratio, data_dir, "cmnist", 1)[1]["config"]
    try:
        return _comparable(json.loads(path.read_text()).get("config", {})) == _comparable(expected)
    except json.JSONDecodeError:
        return False


def run_sweep(params: Params, kind: str, data_dir: str | Path, ratio: float, out_dir: str | Path,
              pseudo_file: str | Path | None = None) -> dict[str, Any]:
    """Train every in-bounds grid point once; write ``<out_dir>/<point>/seed<seed>.json`` and ``grid.json``.

    Points are fitted ``train.stack_size`` at a time as one stacked model (a GPU fills up; on a CPU 1 is fastest).
    A point whose summary already holds exactly its configuration is reused, so an interrupted sweep resumes.
    """
    if kind not in KINDS:
        raise ConfigError(f"sweep kind must be one of {sorted(KINDS)}, got '{kind}'")
    params = params.for_ratio(ratio)  # grid t values as absolute shares (point names and records use them)
    base = params.settings[params.sweep.base[kind]]
    seed = params.sweep.seed
    splits = load_splits(data_dir, resolve_device(params.train.device))
    trained, skipped, jobs = [], [], []
    for point in grid(params, kind):
        name = point_name(kind, point)
        setting = base.model_copy(update={"attributes": KINDS[kind], **point})
        point_params = with_setting(params, name, setting)
        summary = Path(out_dir) / name / f"seed{seed}.json"
        if _done(point_params, name, ratio, data_dir, summary):
            log.info("sweep point %s already trained with this configuration; reusing it", name)
        else:
            try:
                method = setup_method(point_params, name, splits["train"], ratio, pseudo_file)
            except ConfigError as exc:  # β outside Eq. 9: refused before training
                skipped.append({"point": point, "reason": str(exc)})
                continue
            jobs.append(Job(point_params, name, seed, method, summary))
        trained.append({"point": point, "name": name})
    fit_jobs(jobs, splits, data_dir, ratio)
    result = {"kind": kind, "ratio": ratio, "seed": seed, "trained": trained, "skipped": skipped}
    write_json(Path(out_dir) / "grid.json", result)
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
    kind = selection["kind"]
    base = params.settings[params.sweep.base[kind]]
    return with_setting(params, name, base.model_copy(update={"attributes": KINDS[kind],
                                                              **selection["best"]["point"]}))


def tune(params: Params, kind: str, data_dir: str | Path, ratio: float, sweep_dir: str | Path,
         out_dir: str | Path, pseudo_file: str | Path | None = None) -> dict[str, Any]:
    """Sweep, select on validation GBA (recorded in ``<sweep_dir>/selected.json``), rerun the winner per seed."""
    params = params.for_ratio(ratio)
    run_sweep(params, kind, data_dir, ratio, sweep_dir, pseudo_file)
    choice = select(sweep_dir)
    write_json(Path(sweep_dir) / "selected.json", choice)
    name = f"gerne_tuned_{kind}"
    train_runs(tuned_params(params, choice, name), data_dir, ratio, name, out_dir, pseudo_file=pseudo_file)
    return choice
