"""Building blocks of the params schema shared by its sections: strict models, did-you-mean hints, registry names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors; values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise ValueError(f"{where} must be distinct non-negative integers, got {seeds}")
    return seeds


def _model_family(name: str) -> str:
    from gerne.models import MODELS  # the registry only; torchvision and transformers load when a model is built

    return registered("model", name, MODELS)


ModelName = Annotated[str, AfterValidator(_model_family)]  # a family of gerne.models, checked with a hint
