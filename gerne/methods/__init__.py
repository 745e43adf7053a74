"""Training methods by name. A method turns a training split into one loss per optimiser step."""

from __future__ import annotations

from typing import Any

from gerne.errors import ConfigError
from gerne.methods.gerne import Gerne

METHODS: dict[str, type] = {"gerne": Gerne}


def build_method(name: str, **options: Any) -> Any:
    """Instantiate method ``name`` with its options."""
    if name not in METHODS:
        raise ConfigError(f"unknown method '{name}'; available: {sorted(METHODS)}")
    return METHODS[name](**options)
