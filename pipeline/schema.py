"""Building blocks of the params schema shared by its sections: strict models, did-you-mean hints, registry names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import Strict as _StrictType

# Value types of every section: YAML booleans are never numbers (``epochs: true`` is not 1), whole numbers are never
# booleans, floats are finite (``lr: .inf`` and ``.nan`` are refused); a float field takes a YAML int (``0``).
Count = Annotated[int, _StrictType(), Field(ge=1)]  # sizes, budgets, counts: a whole number >= 1
Index = Annotated[int, _StrictType(), Field(ge=0)]  # seeds, and counts where 0 has a documented meaning
Real = Annotated[float, _StrictType(), Field(allow_inf_nan=False)]  # any finite number
PositiveReal = Annotated[Real, Field(gt=0.0)]  # rates (lr, lr_factor), strengths, thresholds
NonNegativeReal = Annotated[Real, Field(ge=0.0)]  # weight decay, spreads
Flag = Annotated[bool, _StrictType()]  # true or false, never 0 or 1


class Strict(BaseModel):
    """Unknown keys are errors; values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_FIX = {"int_type": "write a whole number, e.g. 3", "float_type": "write a number, e.g. 1.0e-3",
        "finite_number": "write a finite number, e.g. 1.0e-3", "bool_type": "write true or false",
        "string_type": "write a text value"}


def shown(value: Any) -> str:
    """``value`` as YAML writes it (true, .inf, 1.0e-05), for messages about a params value."""
    return yaml.safe_dump(value, default_flow_style=True, width=1000).splitlines()[0]


def explain(error: Any) -> str:
    """One pydantic error as a sentence: what is wrong, the value given (as YAML writes it) and the fix."""
    msg = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] in ("value_error", "missing", "extra_forbidden", "assertion_error") or not isinstance(
            value, bool | int | float | str | None):
        return msg
    fix = _FIX.get(error["type"], "")
    if isinstance(value, bool) and error["type"] in ("int_type", "float_type"):
        fix = f"{shown(value)} is a YAML boolean, not a number: {fix}"
    return f"{msg}, got {shown(value)}" + (f" ({fix})" if fix else "")


def hint(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else ``; declared: [...]``."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f"; declared: {sorted(known)}"


def registered(what: str, name: str, registry: Iterable[str]) -> str:
    """``name`` if it is in ``registry``; a ValueError with a hint and the available names otherwise."""
    names = sorted(registry)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise ValueError(f"unknown {what} '{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
                         + f"; available: {', '.join(names)}")
    return name


def distinct_seeds(seeds: list[int], where: str) -> list[int]:
    """``seeds`` if they are distinct and non-negative; a ValueError naming ``where`` otherwise."""
    if len(set(seeds)) != len(seeds) or any(isinstance(s, bool) or s < 0 for s in seeds):
        raise ValueError(f"{where} must be distinct non-negative integers, got {seeds}")
    return seeds


def _model_family(name: str) -> str:
    from gerne.models import MODELS  # the registry only; torchvision and transformers load when a model is built

    return registered("model", name, MODELS)


ModelName = Annotated[str, AfterValidator(_model_family)]  # a family of gerne.models, checked with a hint
