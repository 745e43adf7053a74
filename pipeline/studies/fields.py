"""Value checks of the ``datasets`` and ``studies`` sections beyond a field's type: the search-config values a row
fixes or searches, the protocol fields a row sets per kind, a kind's ``prepare`` options and a model's options.

The field types themselves (strict whole numbers, finite floats, flags) are in :mod:`pipeline.schema`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from gerne.methods import METHODS
from gerne.methods.base import Range
from pipeline.schema import explain, shown

# search-config keys every row has (the loop's lr, the pseudo-minority share t, BERT's dropout); each method adds
# its own with their ranges (its module's `options`, gerne.methods.base.Declared)
SHARED_RANGE = {"lr": Range(lambda v: v > 0.0, "positive"), "t": Range(lambda v: v > 0.0, "positive"),
                "dropout": Range(lambda v: 0.0 <= v < 1.0, "in [0, 1)")}
VALUE_RANGE: dict[str, Range] = {**SHARED_RANGE, **{k: r for m in METHODS.values() for k, r in m.options.items()}}
SEARCHABLE = tuple(VALUE_RANGE)
# prepare options every kind that takes them reads the same way: (admissible, what it must be)
PREPARE_RANGE: dict[str, tuple[Callable[[Any], bool], str]] = {
    "ratio": (lambda v: 0.0 < v < 100.0, "the bias-conflicting percent per class, strictly between 0 and 100"),
    "color_std": (lambda v: v >= 0.0, "a colour noise std >= 0 (severity 4: 5.0e-3)"),
    "image_size": (lambda v: v >= 1, "a side in px, at least 1"), "max_length": (lambda v: v >= 1, "at least 1"),
    "val_size": (lambda v: v >= 1, "at least 1 (images held out of train)"), "seed": (lambda v: v >= 0, ">= 0"),
    "train_conflicting": (lambda v: v is None or v >= 0, "a count >= 0, or null"),
}
_PLAIN = {"float": float, "int": int, "bool": bool, "str": str, "int | None": int, "float | None": float}


def check_value(where: str, key: str, value: float) -> float:
    """``value`` if search-config ``key`` may take it; a ValueError naming ``where`` and the range otherwise."""
    if not math.isfinite(value) or not VALUE_RANGE[key].ok(value):
        raise ValueError(f"{where} {key} = {value} must be {VALUE_RANGE[key].text}")
    return value


def check_protocol_fields(protocol: type[BaseModel], kind: str, fields: dict[str, Any]) -> None:
    """Each of a row's protocol ``fields`` for ``kind`` has its declared type and range (the protocol as a whole is
    checked where the row trains on a dataset of that kind)."""
    for key, value in fields.items():
        try:
            TypeAdapter(protocol.model_fields[key].rebuild_annotation()).validate_python(value)
        except ValidationError as exc:
            where = "".join(f".{p}" for p in exc.errors()[0]["loc"] if not (isinstance(p, str) and "[" in p))
            raise ValueError(f"protocol.{kind}.{key}{where}: {explain(exc.errors()[0])}") from None


def check_prepare_values(kind: str, prepare: Callable[..., Any], options: dict[str, Any]) -> None:
    """Each ``prepare`` option has the type the kind's ``prepare()`` declares (a boolean is no number, a number no
    boolean, a float is finite) and, for the options in :data:`PREPARE_RANGE`, a value in range."""
    declared = {n: p.annotation for n, p in inspect.signature(prepare).parameters.items()}
    for key, value in options.items():
        want = _PLAIN.get(str(declared.get(key)))
        if want is None or (value is None and "None" in str(declared[key])):
            continue
        ok = isinstance(value, want) and (want is bool or not isinstance(value, bool))
        if want is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok:
            what = {float: "a finite number", int: "a whole number", bool: "true or false", str: "a text value"}
            raise ValueError(f"prepare option {key} = {shown(value)} of kind {kind} must be {what[want]}"
                             + (" (true/false is a YAML boolean, not a number)" if isinstance(value, bool) else ""))
        if key in PREPARE_RANGE and not PREPARE_RANGE[key][0](value):
            raise ValueError(f"prepare option {key} = {shown(value)} of kind {kind} must be {PREPARE_RANGE[key][1]}")
