"""Table 1 runs (Algorithm 1 on true, pseudo or no attributes): one (ratio, setting), every seed."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from gerne.data.contract import Split
from gerne.device import resolve_device
from gerne.errors import DataError
from gerne.groups import apply_grouping
from gerne.io import staged_dir
from gerne.methods import build_method
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig
from pipeline.runs.common import load_splits, make_model, tracked_fit, write_summary

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params, SettingParams

log = logging.getLogger(__name__)


def _load_pseudo(pseudo_file: str | Path, t: float, n: int) -> np.ndarray:
    path = Path(pseudo_file)
    if not path.is_file():
        raise DataError(f"{path} is missing: run the pseudo stage first (dvc repro)")
    with np.load(path) as z:
        key = f"t={t!r}"
        if key not in z:
            raise DataError(f"{path} has no pseudo-attributes for t = {t} (has {sorted(z.files)}); add t to "
                            f"pseudo.thresholds and rerun the pseudo stage")
        a = z[key]
    if len(a) != n:
        raise DataError(f"{path} has {len(a)} pseudo-attributes for {n} training samples; rerun the pseudo stage")
    return a


def _method_split(train: Split, setting: SettingParams, pseudo_file: str | Path | None) -> Split:
    """The training split with the attributes the method may see: true, pseudo (Ã = {0, 1}) or none."""
    if setting.attributes != "pseudo":
        return apply_grouping(setting.attributes, train)
    if pseudo_file is None:
        raise DataError("attributes: pseudo needs the pseudo-attribute file (--pseudo)")
    return apply_grouping("pseudo", train, attributes=_load_pseudo(pseudo_file, float(setting.t), len(train)))


def _run_spec(params: Params, setting_name: str, seed: int, ratio: float, data_dir: str | Path, benchmark: str,
              stacked: int) -> tuple[LoopConfig, dict[str, Any]]:
    """The loop configuration and the MLflow name/params/tags of one Table 1 run."""
    setting, t = params.setting(setting_name), params.train
    loop = LoopConfig(epochs=setting.epochs or t.epochs, lr=setting.lr or t.lr, momentum=t.momentum, seed=seed,
                      steps_per_epoch=t.steps_per_epoch, precision=t.precision,
                      evaluate_train=t.eval_train if setting.eval_train is None else setting.eval_train,
                      weight_decay=t.weight_decay if setting.weight_decay is None else setting.weight_decay)
    config = {"setting": setting.model_dump(), "loop": loop.__dict__, "model": params.model.model_dump(),
              "train": t.model_dump(exclude={"seeds"}), "data": {"ratio": ratio, "dir": str(data_dir)}}
    tags = {"stage": "train", "dataset": benchmark, "ratio": ratio, "setting": setting_name, "seed": seed,
            "stacked_runs": stacked}
    return loop, {"name": f"{setting_name}-r{ratio}-s{seed}", "config": config, "tags": tags}


@dataclass(frozen=True)
class Job:
    """One run to fit: ``params`` hold its ``setting``; ``method`` is set up; ``summary`` is where it ends."""

    params: Params
    setting: str
    seed: int
    method: Any
    summary: Path


def setup_method(params: Params, setting_name: str, train: Split, ratio: float, pseudo_file: str | Path | None,
                 benchmark: str = "cmnist") -> Any:
    """The setting's GERNE method on the attributes it may see; raises ConfigError if β breaks Eq. 9 there."""
    setting = params.setting(setting_name)
    method = build_method("gerne", c=setting.c, beta=setting.beta, batch_size=params.train.batch_size,
                          batch_unit=params.train.batch_unit, track_both_losses=params.train.track_both_losses)
    method.setup(_method_split(train, setting, pseudo_file),
                 what=f"{setting.attributes} training attributes of {benchmark} {ratio}%")
    return method


def fit_jobs(jobs: list[Job], splits: dict[str, Split], data_dir: str | Path, ratio: float,
             tracker: Tracker | None = None, benchmark: str = "cmnist") -> list[dict[str, Any]]:
    """Fit ``jobs`` (seeds or grid points of one shape) ``train.stack_size`` at a time as one stacked model each;
    write every run's summary as its stack finishes and return them in order."""
    tracker = tracker or Tracker(benchmark)
    evals = {k: splits[k] for k in ("train", "val", "test")}
    device = splits["train"].y.device
    size = jobs[0].params.train.stack_size if jobs else 1
    summaries = []
    began = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=f"{benchmark} r{ratio}", unit="run", disable=None if len(jobs) > 1 else True)
    for start in range(0, len(jobs), size):
        chunk = jobs[start : start + size]
        if len(jobs) > 1:
            log.info("run %d-%d of %d: %s%s", start + 1, start + len(chunk), len(jobs),
                     ", ".join(f"{j.setting} seed {j.seed}" for j in chunk), _eta(began, start, len(jobs)))
        loops, specs = zip(*(_run_spec(j.params, j.setting, j.seed, ratio, data_dir, benchmark, len(chunk))
                             for j in chunk), strict=True)
        models = [make_model(j.params, splits["train"], j.seed, device) for j in chunk]
        fitted = tracked_fit(tracker, list(specs), models, [j.method for j in chunk], evals, list(loops))
        for job, spec, (result, run_id) in zip(chunk, specs, fitted, strict=True):
            info = {"benchmark": benchmark, "ratio": ratio, "setting": job.setting, "seed": job.seed,
                    "config": spec["config"]}
            summaries.append(write_summary(job.summary, result, run_id, info))
        bar.update(len(chunk))
    bar.close()
    return summaries


def _eta(began: float, done: int, total: int) -> str:
    """``", about 12 min left"`` from the mean time of the runs done so far (empty before the first)."""
    if not done:
        return ""
    left = (time.perf_counter() - began) / done * (total - done)
    return f", about {left / 60:.0f} min left" if left >= 60 else f", about {left:.0f} s left"


def train_runs(params: Params, data_dir: str | Path, ratio: float, setting_name: str, out_dir: str | Path,
               seeds: list[int] | None = None, pseudo_file: str | Path | None = None, tracker: Tracker | None = None,
               benchmark: str = "cmnist") -> list[dict[str, Any]]:
    """Table 1 runs of one (ratio, setting) for every seed, ``train.stack_size`` seeds per stacked model.

    β is checked against Eq. 9 on the training (pseudo-)groups before anything trains. Writes
    ``out_dir/seed<seed>.json`` per run and returns the summaries. The folder is built beside ``out_dir`` and
    swapped in when every seed has finished: a failure or kill leaves the previous results as they were.
    """
    params = params.for_ratio(ratio)  # t as the absolute share this ratio's pseudo-attributes were derived at
    explicit = seeds is not None
    seeds = list(params.train.seeds if seeds is None else seeds)
    splits = load_splits(data_dir, resolve_device(params.train.device))
    methods = [setup_method(params, setting_name, splits["train"], ratio, pseudo_file, benchmark) for _ in seeds]
    with staged_dir(out_dir) as work:
        if explicit:  # a subset of seeds replaces only those seeds' summaries
            for old in Path(out_dir).glob("seed*.json"):
                if not (work / old.name).exists():
                    shutil.copy2(old, work / old.name)
        jobs = [Job(params, setting_name, seed, method, work / f"seed{seed}.json")
                for seed, method in zip(seeds, methods, strict=True)]
        return fit_jobs(jobs, splits, data_dir, ratio, tracker, benchmark)
