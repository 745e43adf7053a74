"""When a finished run counts as done: a fingerprint of what decides its numbers, read from its summary.

A run is decided by its method and grouping, the method's c, β (or its position β_u inside Eq. 9) and t (as the
absolute share), the model family and its options, the batch, the loss tracking and the whole loop (budget,
optimiser, lr, seed, selection metrics, precision). Not part of it: where the data lies, the run's name or id, how
runs share a stacked model. Summaries of both schemas are read: the declared runner's (``config.training``) and
the C-MNIST Table 1 runner's (``config.setting`` / ``model`` / ``train``), so every committed sweep point of the
Table 1 column counts as done for the declared rows that mean the same run. A loop option a summary predates is
filled with its default, which that run trained with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from gerne.groups import grouping
from gerne.train.loop import LoopConfig
from pipeline.studies.fields import SEARCHABLE

LOOP_DEFAULTS = {f.name: f.default for f in dataclasses.fields(LoopConfig) if f.default is not dataclasses.MISSING}
GROUPS_OF = {"known": "known", "pseudo": "confidence", "none": "none"}  # Table 1's attributes → its grouping
# every search-config key that can change a run: the searchable ones (lr is in the loop) and β's position β_u
SEARCHED = (*(k for k in SEARCHABLE if k != "lr"), "beta_u")


def training_record(method: str, groups: str, cfg: dict[str, Any], t: float | None, model: dict[str, Any],
                    batch: dict[str, Any], loop: dict[str, Any]) -> dict[str, Any]:
    """The fingerprinted record of one run: ``cfg``'s searched values (``t`` given as the absolute share), the
    model, the batch options (batch_size, batch_unit, pseudo_batch_size, track_both_losses) and the loop."""
    values = {k: float(cfg[k]) for k in SEARCHED if k in cfg and k != "t"}
    share = grouping(groups).share
    if share is not None:  # the absolute pseudo-minority share, not the config's dataset units
        values[share] = t
    return {"method": method, "groups": groups, **values, "model": model, **batch,
            "loop": {**LOOP_DEFAULTS, **loop}}


def _legacy(config: dict[str, Any]) -> dict[str, Any]:
    """The record of a Table 1 runner summary (always GERNE; B per class or per group)."""
    setting, train = config["setting"], config["train"]
    batch = {"batch_size": train["batch_size"], "batch_unit": train["batch_unit"], "pseudo_batch_size": None,
             "track_both_losses": train["track_both_losses"]}
    return training_record("gerne", GROUPS_OF[setting["attributes"]], setting, setting.get("t"),
                           dict(config["model"]), batch, config["loop"])


def record_of(config: dict[str, Any]) -> dict[str, Any] | None:
    """The record a summary's ``config`` holds (either schema), or None when it has neither."""
    if "training" in config:
        rec = dict(config["training"])
        return {**rec, "loop": {**LOOP_DEFAULTS, **rec["loop"]}}
    if {"setting", "train", "model", "loop"} <= set(config) and isinstance(config["setting"], dict):
        return _legacy(config)
    return None


# what a legacy reference summary cannot record or does not need: scoring the train split and the eval batch
# change no weight of f̃
_NOT_WEIGHTS = ("evaluate_train", "eval_batch_size")
LEGACY_REFERENCE_BATCH = {"batch_size": 100, "batch_unit": "class", "pseudo_batch_size": None,
                          "track_both_losses": False}  # the Table 1 runner's only batch: B per class


def reference_weights_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without the loop options that change no weight (to compare a reference model across schemas)."""
    return {**record, "loop": {k: v for k, v in record["loop"].items() if k not in _NOT_WEIGHTS}}


def legacy_reference_record(config: dict[str, Any]) -> dict[str, Any] | None:
    """The weights record of a Table 1 runner's reference summary (``config.biased``: class-balanced ERM, β = −1,
    c = 1, B = 100 per class), or None for any other schema."""
    if not {"biased", "loop", "model"} <= set(config):
        return None
    rec = training_record("gerne", "none", {"c": 1.0, "beta": -1.0}, None, dict(config["model"]),
                          LEGACY_REFERENCE_BATCH, config["loop"])
    return reference_weights_record(rec)


def fingerprint(record: dict[str, Any]) -> str:
    """A short hash of a record (JSON with sorted keys; ints and floats of equal value hash alike)."""
    canonical = json.loads(json.dumps(record), parse_int=float)
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]


def is_done(path: str | Path, expected: dict[str, Any]) -> bool:
    """True if ``path`` is a finished summary of exactly the run ``expected`` describes."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        rec = record_of(json.loads(path.read_text()).get("config", {}))
    except (json.JSONDecodeError, KeyError, TypeError):
        return False
    return rec is not None and fingerprint(rec) == fingerprint(expected)


DATA_STAMP = "data.json"
DATA_FILES = ("metadata.csv", "counts.json", "images.npy", "tokens.npy")


def data_identity(data_dir: str | Path) -> str:
    """``sha256:<hex>`` over the prepared dataset's files (metadata, counts, the image or token array)."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        path = Path(data_dir) / name
        if not path.is_file():
            continue
        digest.update(f"{name}\0".encode())
        with open(path, "rb") as fh:
            while block := fh.read(1 << 23):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def same_data(folder: str | Path, identity: str) -> bool:
    """True if ``folder``'s stamp names the data ``identity`` (a folder without a stamp never does)."""
    path = Path(folder) / DATA_STAMP
    try:
        return path.is_file() and json.loads(path.read_text()).get("data") == identity
    except (json.JSONDecodeError, AttributeError):
        return False


def stamped(work: Path, target: Path, identity: str) -> Path | None:
    """Stamp the folder being built (``work``) with ``identity``, clearing what it holds from other data; return
    ``target`` when its runs may be reused (stamped with the same data), else None."""
    if not same_data(work, identity):
        for child in work.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (work / DATA_STAMP).write_text(json.dumps({"data": identity}) + "\n")
    return target if same_data(target, identity) else None
