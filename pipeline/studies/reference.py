"""Algorithm 2 on a declared dataset: the biased reference model f̃ (step 1), then its confidence scores and the
pseudo-minority split at each threshold (step 2), with the split's precision and recall where the data has true
attributes (Fig. 3).

Two steps of the ``train`` stage, two artefacts: :func:`train_reference` trains f̃ and keeps its checkpoint (best
validation CBA) and run summary (reused while its fingerprint holds); :func:`score` scores the training split (the file
byte-identical when nothing changed), so new thresholds rescore without retraining f̃. Rows on
pseudo-attributes read the scores file and split at their own t (``gerne.groups.confidence``).
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gerne.core.pseudo import pseudo_attributes, pseudo_minority_detail, pseudo_quality
from gerne.data.contract import Split
from gerne.device import resolve_device
from gerne.errors import DataError
from gerne.groups import reference_confidence
from gerne.io import atomic_paths, write_json, write_npz
from gerne.models import build_model
from gerne.train.evaluate import aligned_attributes
from pipeline.runs.common import load_splits
from pipeline.studies.config import REFERENCE
from pipeline.studies.resume import (
    data_identity,
    fingerprint,
    is_done,
    legacy_reference_record,
    reference_weights_record,
)
from pipeline.studies.runs import expected_record, run
from pipeline.studies.search import config0

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params

log = logging.getLogger(__name__)


def checkpoint(state: dict[str, torch.Tensor], model: dict[str, Any], train: Split) -> dict[str, Any]:
    """What a reference checkpoint holds: the weights, the model family and options, the input shape, classes."""
    return {"state_dict": state, "model": model, "input_shape": list(train.x.shape[1:]),
            "num_classes": train.num_classes}


def load_checkpoint(path: str | Path, device: torch.device) -> torch.nn.Module:
    """The reference model of a checkpoint written by :func:`checkpoint` (no weights downloaded: they are in it)."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise DataError(f"cannot read the reference model {path} ({exc}); rerun its reference stage") from exc
    name, shape, classes = ckpt["model"]["name"], tuple(ckpt["input_shape"]), ckpt["num_classes"]
    options = {k: v for k, v in ckpt["model"].items() if k not in ("name", "pretrained")}
    try:  # the checkpoint holds the trained weights: never fetch pretrained ones
        model = build_model(name, shape, classes, pretrained=False, **options)
    except TypeError:  # a family without pretrained weights (the MLP)
        model = build_model(name, shape, classes, **options)
    model.to(device).load_state_dict(ckpt["state_dict"])
    return model


def split_at(confidence: np.ndarray, train: Split, thresholds: list[float],
             attributes: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The scores file's arrays (``confidence`` and ã per ``t=<t>``) and the split's quality per absolute t: its
    size, clamped classes and, with true ``attributes``, precision/recall against the bias-conflicting samples."""
    y = train.y.cpu().numpy()
    minority = (train.a != aligned_attributes(train)[train.y]).cpu().numpy()
    arrays: dict[str, np.ndarray] = {"confidence": confidence}
    quality: dict[str, Any] = {}
    for t in thresholds:
        split = pseudo_minority_detail(confidence, y, t)
        if split.clamped_classes:
            log.warning("t = %s: pseudo-minority size clamped to keep both pseudo-groups non-empty in classes %s",
                        t, split.clamped_classes)
        arrays[f"t={t!r}"] = pseudo_attributes(split.mask)
        scored = pseudo_quality(split.mask, y, minority) if attributes else {}
        quality[f"{t!r}"] = {**scored, "size": int(split.mask.sum()), "clamped_classes": split.clamped_classes}
    head = {"true_minority": int(minority.sum())} if attributes else {}
    return arrays, {**head, "thresholds": quality}


def write_scores(out_file: str | Path, quality_path: str | Path, arrays: dict[str, np.ndarray],
                 quality: dict[str, Any]) -> None:
    """Both files together or neither; the npz is byte-deterministic (same model, same file and DVC hash)."""
    with atomic_paths(out_file, quality_path) as (npz_tmp, quality_tmp):
        write_npz(npz_tmp, arrays)
        write_json(quality_tmp, quality)


def train_reference(params: Params, dataset: str, data_dir: str | Path, model_path: str | Path,
                    summary_path: str | Path) -> dict[str, Any]:
    """Algorithm 2 step 1: class-balanced ERM (β = −1: the biased batch only) with lr ×0.1 and wd ×2 at config 0,
    checkpoint by val CBA; the checkpoint and the summary are replaced together or not at all. A checkpoint whose
    summary has the same fingerprint (``pipeline.studies.resume``) is kept: a code edit alone retrains nothing."""
    import json

    sp, protocol = params.declared(dataset)
    protocol = protocol.model_copy(update={"track_both_losses": False})  # ERM: no L_lb to log
    cfg = {**config0(protocol), "c": 1.0, "beta": -1.0}
    expected = expected_record(protocol, REFERENCE, cfg, sp.reference.seed, sp.reference.lr_factor,
                               sp.reference.weight_decay_factor)
    identity = data_identity(data_dir)
    if Path(model_path).is_file() and is_done(summary_path, expected):
        previous = json.loads(Path(summary_path).read_text())
        if previous.get("data_identity") == identity:
            log.info("%s: reference model already trained on these data (same fingerprint), reused", dataset)
            return previous
    splits = load_splits(data_dir, resolve_device(sp.device, "studies.device"))
    previous = _legacy_match(summary_path, model_path, expected, splits)
    if previous is not None:
        log.info("%s: reference model of the Table 1 runner reused (same recipe; it scores these data exactly as "
                 "its summary recorded)", dataset)
        return previous
    with atomic_paths(model_path, summary_path) as (model_tmp, summary_tmp):
        out = run(protocol, splits, dataset=dataset, row="biased", spec=REFERENCE, cfg=cfg, seed=sp.reference.seed,
                  out_path=summary_tmp, name=f"{dataset}-biased", lr_factor=sp.reference.lr_factor,
                  wd_factor=sp.reference.weight_decay_factor, extra={"data_identity": identity})  # the data f̃ saw
        # saved through a file object, so the archive's inner folder is not named after the temporary file
        with open(model_tmp, "wb") as fh:
            torch.save(checkpoint(out.states["best_val"], {"name": protocol.model, **protocol.model_options},
                                  splits["train"]), fh)
    return out.summary


def _legacy_match(summary_path: str | Path, model_path: str | Path, expected: dict[str, Any],
                  splits: dict[str, Split]) -> dict[str, Any] | None:
    """The summary of a reference model trained by the Table 1 runner, when it is the run ``expected`` describes:
    the same recipe (:func:`legacy_reference_record`) and, as that schema predates ``data_identity``, a checkpoint
    that classifies the current val and test splits (and train, where scored) exactly as its summary's ``best_val``
    recorded (the same count correct)."""
    import json

    path = Path(summary_path)
    if not (path.is_file() and Path(model_path).is_file()):
        return None
    try:
        previous = json.loads(path.read_text())
        record = legacy_reference_record(previous["config"])
        recorded = previous["selections"]["best_val"]["metrics"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    if record is None or fingerprint(record) != fingerprint(reference_weights_record(expected)):
        return None
    if not {"val_acc", "test_acc"} <= set(recorded):
        return None
    model = load_checkpoint(model_path, splits["train"].x.device).eval()
    with torch.no_grad():
        for name, split in splits.items():
            key = f"{name}_acc"
            if key not in recorded:  # the train split is scored only where the run asked for it
                continue
            correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in zip(split.x.split(4096),
                                                                               split.y.split(4096), strict=True))
            if abs(correct - recorded[key] * len(split.y)) > 0.5:
                return None
    return previous


def score(params: Params, dataset: str, data_dir: str | Path, model_path: str | Path, out_file: str | Path,
          quality_path: str | Path) -> dict[str, Any]:
    """Algorithm 2 step 2: softmax(f̃(x))_y of every training sample, split at each of the dataset's
    ``pseudo_thresholds`` (in its t units); returns the quality record."""
    sp, decl = params.declared(dataset)
    device = resolve_device(sp.device, "studies.device")
    thresholds = [decl.absolute_t(t) for t in decl.pseudo_thresholds]
    kept = _scored_after(out_file, quality_path, model_path, thresholds)
    if kept is not None:
        log.info("%s: scores newer than f̃ and holding every threshold, kept without scoring", dataset)
        return kept
    train = load_splits(data_dir, device)["train"]
    confidence = reference_confidence(load_checkpoint(model_path, device), train, decl.eval_batch_size)
    arrays, quality = split_at(confidence, train, thresholds, decl.attributes)
    if same_scores(out_file, quality_path, arrays, quality):
        log.info("%s: scores unchanged (the same splits; confidences within float32 rounding), files kept", dataset)
    else:
        write_scores(out_file, quality_path, arrays, quality)
    return quality


def _scored_after(out_file: str | Path, quality_path: str | Path, model_path: str | Path,
                  thresholds: list[float]) -> dict[str, Any] | None:
    """The quality record when both files were written after the checkpoint ``model_path`` and hold exactly
    ``thresholds`` (no scoring pass needed: a retrained f̃ is newer, a new threshold is missing); else None."""
    import json

    files = [Path(out_file), Path(quality_path)]
    if not all(f.is_file() for f in files) or not Path(model_path).is_file():
        return None
    if min(f.stat().st_mtime_ns for f in files) < Path(model_path).stat().st_mtime_ns:
        return None
    try:
        quality = json.loads(Path(quality_path).read_text())
    except json.JSONDecodeError:
        return None
    return quality if set(quality.get("thresholds", {})) == {f"{t!r}" for t in thresholds} else None


def same_scores(out_file: str | Path, quality_path: str | Path, arrays: dict[str, np.ndarray],
                quality: dict[str, Any]) -> bool:
    """True when the files already hold ``arrays`` and ``quality``: every pseudo-attribute split equal and the
    confidences equal up to float32 rounding (another thread count sums in another order), so a rerun rewrites
    nothing."""
    import json

    if not (Path(out_file).is_file() and Path(quality_path).is_file()):
        return False
    with np.load(out_file) as old:
        if set(old.files) != set(arrays):
            return False
        for name, array in arrays.items():
            same = np.allclose(old[name], array, rtol=0.0, atol=1.0e-5) if name == "confidence" \
                else np.array_equal(old[name], array)
            if not same:
                return False
    return json.loads(Path(quality_path).read_text()) == json.loads(json.dumps(quality))


def load_state(path: str | Path | None, what: str) -> dict[str, Any]:
    """A checkpoint of :func:`checkpoint` as saved (weights on the CPU), for methods that start from f̃
    (DataError naming the stage to run when it is missing, unreadable or no reference checkpoint)."""
    if path is None or not Path(path).is_file():
        raise DataError(f"{what} needs the reference model's checkpoint ({path}); run its reference stage "
                        "(dvc repro)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(f"cannot read the reference model {path} ({exc}); rerun its reference stage") from exc
    if not isinstance(ckpt, dict) or not {"state_dict", "model"} <= set(ckpt):
        raise DataError(f"{path} is not a reference checkpoint (no state_dict and model); rerun its reference stage")
    return ckpt


def load_confidence(path: str | Path | None, what: str) -> np.ndarray:
    """The ``confidence`` array of a scores file (DataError naming the stage to run when it is missing)."""
    if path is None or not Path(path).is_file():
        raise DataError(f"{what} needs the reference model's scores ({path}); run its scores stage (dvc repro)")
    with np.load(path) as z:
        if "confidence" not in z:
            raise DataError(f"{path} holds no confidence scores; rerun its scores stage")
        return z["confidence"]
