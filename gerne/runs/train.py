"""Table 1 runs (Algorithm 1 on true, pseudo or no attributes): one (ratio, setting), every seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gerne.config import Params, SettingParams
from gerne.data.contract import Split
from gerne.errors import DataError
from gerne.methods import build_method
from gerne.runs.common import load_splits, make_model, resolve_device, tracked_fit, write_summary
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig


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
    if setting.attributes == "known":
        return train
    if setting.attributes == "none":
        return train.with_attributes(torch.zeros_like(train.y), 1)
    if pseudo_file is None:
        raise DataError("attributes: pseudo needs the pseudo-attribute file (--pseudo)")
    a = _load_pseudo(pseudo_file, float(setting.t), len(train))
    return train.with_attributes(torch.from_numpy(a), 2)


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


def train_runs(params: Params, data_dir: str | Path, ratio: float, setting_name: str, out_dir: str | Path,
               seeds: list[int] | None = None, pseudo_file: str | Path | None = None, tracker: Tracker | None = None,
               benchmark: str = "cmnist") -> list[dict[str, Any]]:
    """Table 1 runs of one (ratio, setting) for every seed, ``train.stack_size`` seeds per stacked model.

    β is checked against Eq. 9 on the training (pseudo-)groups before anything trains. Writes
    ``out_dir/seed<seed>.json`` per run and returns the summaries.
    """
    params = params.for_ratio(ratio)  # t as the absolute share this ratio's pseudo-attributes were derived at
    setting = params.setting(setting_name)
    seeds = list(params.train.seeds if seeds is None else seeds)
    device = resolve_device(params.train.device)
    splits = load_splits(data_dir, device)
    train = _method_split(splits["train"], setting, pseudo_file)
    methods = [build_method("gerne", c=setting.c, beta=setting.beta, batch_size=params.train.batch_size,
                            batch_unit=params.train.batch_unit, track_both_losses=params.train.track_both_losses)
               for _ in seeds]
    for m in methods:
        m.setup(train, what=f"{setting.attributes} training attributes of {benchmark} {ratio}%")
    tracker = tracker or Tracker(benchmark)
    evals = {k: splits[k] for k in ("train", "val", "test")}
    summaries = []
    size = params.train.stack_size
    for start in range(0, len(seeds), size):
        group = list(range(start, min(start + size, len(seeds))))
        loops, specs = zip(*(_run_spec(params, setting_name, seeds[i], ratio, data_dir, benchmark, len(group))
                             for i in group), strict=True)
        models = [make_model(params, train, seeds[i], device) for i in group]
        fitted = tracked_fit(tracker, list(specs), models, [methods[i] for i in group], evals, list(loops))
        for i, spec, (result, run_id) in zip(group, specs, fitted, strict=True):
            info = {"benchmark": benchmark, "ratio": ratio, "setting": setting_name, "seed": seeds[i],
                    "config": spec["config"]}
            summaries.append(write_summary(Path(out_dir) / f"seed{seeds[i]}.json", result, run_id, info))
    return summaries


