"""Runs of the reproduction: the biased model f̃, pseudo-attributes, and one GERNE run per (setting, seed).

Each function reads prepared files, trains or scores on one device, logs an MLflow run and writes its outputs
atomically, the small JSON summary last, so a crashed run never leaves a finished-looking summary.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from gerne.config import Params, SettingParams
from gerne.core.pseudo import pseudo_attributes, pseudo_minority_detail, pseudo_quality
from gerne.data.contract import Split, load_tensor_dataset
from gerne.errors import DataError
from gerne.io import atomic_path, write_json
from gerne.methods import build_method
from gerne.models import build_model
from gerne.tracking import Run, Tracker
from gerne.train.loop import LoopConfig, TrainResult, aligned_attributes, fit_stack

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA if available, else CPU."""
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else ("cpu" if name == "auto"
                                                                                      else name))


def _load(data_dir: str | Path, device: torch.device) -> dict[str, Split]:
    splits = load_tensor_dataset(data_dir)
    for needed in ("train", "val", "test"):
        if needed not in splits:
            raise DataError(f"{data_dir} has no '{needed}' split; rebuild the dataset")
    return {k: v.to(device) for k, v in splits.items()}


def _model(params: Params, split: Split, seed: int, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(params.model.name, tuple(split.x.shape[1:]), split.num_classes,
                       hidden=list(params.model.hidden)).to(device)


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


def _write_summary(summary_path: str | Path, result: TrainResult, run_id: str, info: dict[str, Any]) -> dict:
    summary = {
        **info,
        "mlflow_run_id": run_id,
        "epochs_run": len(result.history),
        "diverged": result.diverged,
        "seconds_per_epoch": round(result.seconds_per_epoch, 4),
        "steps_per_epoch": result.steps_per_epoch,
        "selections": result.selections,
    }
    write_json(summary_path, summary)
    return summary


def _log_outcome(run: Run, result: TrainResult) -> None:
    run.log_metrics({"seconds_per_epoch": result.seconds_per_epoch}, step=len(result.history))
    run.set_tags({"diverged": result.diverged, **{f"selected.{k}.epoch": v["epoch"]
                                                  for k, v in result.selections.items()}})
    with tempfile.TemporaryDirectory() as tmp:
        for state_name, state in result.states.items():
            torch.save(state, Path(tmp) / f"model_{state_name}.pt")
            run.log_artifact(Path(tmp) / f"model_{state_name}.pt", "model")
        pd.DataFrame(result.group_rows).to_csv(Path(tmp) / "group_accuracy.csv", index=False)
        pd.DataFrame(result.history).to_csv(Path(tmp) / "history.csv", index=False)
        run.log_artifact(Path(tmp) / "group_accuracy.csv")
        run.log_artifact(Path(tmp) / "history.csv")


def _tracked_fit(tracker: Tracker, specs: list[dict[str, Any]], models: list[torch.nn.Module], methods: list[Any],
                 evals: dict[str, Split], loops: list[LoopConfig]) -> list[tuple[TrainResult, str]]:
    """Fit R stacked runs, each its own MLflow run: params, per-epoch metrics (step = epoch), state dicts, tables.

    ``specs[r]`` holds the run's ``name``, ``config`` (logged as params) and ``tags``.
    """
    with ExitStack() as stack:
        runs = [stack.enter_context(tracker.run(s["name"], params=s["config"], tags=s["tags"])) for s in specs]
        callbacks = [functools.partial(lambda run, e, m: run.log_metrics(m, step=e), run) for run in runs]
        desc = specs[0]["name"] if len(specs) == 1 else f"{specs[0]['name']} (+{len(specs) - 1} stacked)"
        results = fit_stack(models, methods, evals, loops, callbacks, desc=desc)
        for run, result in zip(runs, results, strict=True):
            _log_outcome(run, result)
        return [(result, run.run_id) for result, run in zip(results, runs, strict=True)]


def _run_spec(params: Params, setting_name: str, seed: int, ratio: float, data_dir: str | Path, benchmark: str,
              stacked: int) -> tuple[LoopConfig, dict[str, Any]]:
    """The loop configuration and the MLflow name/params/tags of one Table 1 run."""
    setting, t = params.setting(setting_name), params.train
    loop = LoopConfig(epochs=setting.epochs or t.epochs, lr=setting.lr or t.lr, momentum=t.momentum, seed=seed,
                      steps_per_epoch=t.steps_per_epoch, evaluate_train=t.eval_train, precision=t.precision,
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
    setting = params.setting(setting_name)
    seeds = list(params.train.seeds if seeds is None else seeds)
    device = resolve_device(params.train.device)
    splits = _load(data_dir, device)
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
        models = [_model(params, train, seeds[i], device) for i in group]
        fitted = _tracked_fit(tracker, list(specs), models, [methods[i] for i in group], evals, list(loops))
        for i, spec, (result, run_id) in zip(group, specs, fitted, strict=True):
            info = {"benchmark": benchmark, "ratio": ratio, "setting": setting_name, "seed": seeds[i],
                    "config": spec["config"]}
            summaries.append(_write_summary(Path(out_dir) / f"seed{seeds[i]}.json", result, run_id, info))
    return summaries


def train_biased(params: Params, data_dir: str | Path, ratio: float, model_path: str | Path,
                 summary_path: str | Path, tracker: Tracker | None = None, benchmark: str = "cmnist") -> dict:
    """Algorithm 2, step 1: class-balanced ERM (β = −1) with wd ×2, lr ×0.1, selected by validation CBA."""
    b = params.biased
    device = resolve_device(params.train.device)
    splits = _load(data_dir, device)
    train = splits["train"].with_attributes(torch.zeros_like(splits["train"].y), 1)
    method = build_method("gerne", c=1.0, beta=-1.0, batch_size=params.train.batch_size, batch_unit="class",
                          track_both_losses=False)
    method.setup(train, what="biased-model training data")
    loop = LoopConfig(epochs=b.epochs, lr=params.train.lr * b.lr_factor, momentum=params.train.momentum,
                      weight_decay=params.train.weight_decay * b.weight_decay_factor, seed=b.seed,
                      steps_per_epoch=params.train.steps_per_epoch, select_metric="val_cba",
                      precision=params.train.precision)
    config = {"biased": b.model_dump(), "loop": loop.__dict__, "model": params.model.model_dump(),
              "data": {"ratio": ratio, "dir": str(data_dir)}}
    tags = {"stage": "biased", "dataset": benchmark, "ratio": ratio, "setting": "biased", "seed": b.seed}
    evals = {k: splits[k] for k in ("train", "val", "test")}
    model = _model(params, train, b.seed, device)
    spec = {"name": f"biased-r{ratio}", "config": config, "tags": tags}
    ((result, run_id),) = _tracked_fit(tracker or Tracker(benchmark), [spec], [model], [method], evals, [loop])
    with atomic_path(model_path) as tmp:
        torch.save({"state_dict": result.states["best_val"], "model": params.model.model_dump(),
                    "input_shape": list(train.x.shape[1:]), "num_classes": train.num_classes}, tmp)
    info = {"benchmark": benchmark, "ratio": ratio, "setting": "biased", "seed": b.seed, "config": config}
    return _write_summary(summary_path, result, run_id, info)


def derive_pseudo(params: Params, data_dir: str | Path, model_path: str | Path, out_file: str | Path,
                  quality_path: str | Path) -> dict[str, Any]:
    """Algorithm 2, step 2: score train samples by softmax(f̃(x))_y and split each class at every t."""
    device = resolve_device(params.train.device)
    train = _load(data_dir, device)["train"]
    try:
        ckpt = torch.load(model_path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise DataError(f"cannot read the biased model {model_path} ({exc}); rerun its stage") from exc
    model = build_model(params.model.name, tuple(ckpt["input_shape"]), ckpt["num_classes"],
                        hidden=list(ckpt["model"]["hidden"])).to(device)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    with torch.no_grad():
        probs = torch.cat([torch.softmax(model(train.x[i : i + 8192]), 1) for i in range(0, len(train), 8192)])
    confidence = probs.gather(1, train.y[:, None])[:, 0].cpu().numpy()
    y = train.y.cpu().numpy()
    minority = (train.a != aligned_attributes(train)[train.y]).cpu().numpy()
    arrays: dict[str, np.ndarray] = {"confidence": confidence}
    quality: dict[str, Any] = {}
    for t in params.pseudo.thresholds:
        split = pseudo_minority_detail(confidence, y, t)
        if split.clamped_classes:
            log.warning("t = %s: pseudo-minority size clamped to keep both pseudo-groups non-empty in classes %s",
                        t, split.clamped_classes)
        arrays[f"t={t!r}"] = pseudo_attributes(split.mask)
        quality[f"{t!r}"] = {**pseudo_quality(split.mask, y, minority), "size": int(split.mask.sum()),
                             "clamped_classes": split.clamped_classes}
    with atomic_path(out_file) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    write_json(quality_path, {"true_minority": int(minority.sum()), "thresholds": quality})
    return quality
