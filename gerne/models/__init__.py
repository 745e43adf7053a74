"""Model families by name. Add one module and one registry entry to add a family."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

from gerne.errors import ConfigError
from gerne.models.mlp import MLP


def _mlp(input_shape: tuple[int, ...], num_classes: int, hidden: list[int] | None = None) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, hidden if hidden is not None else [100, 100, 100])


MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp}


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, **options: Any) -> nn.Module:
    """Instantiate model family ``name`` for inputs of ``input_shape`` (without batch) and ``num_classes``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; available: {sorted(MODELS)}")
    return MODELS[name](tuple(input_shape), num_classes, **options)
