"""Model families by name. Add one module, one registry entry and its options (``gerne.models.options``) to add a
family."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

from torch import nn

from gerne.errors import ConfigError
from gerne.models.mlp import MLP
from gerne.models.options import check_model_options


def _mlp(input_shape: tuple[int, ...], num_classes: int, hidden: list[int] | None = None,
         input_scale: float = 1.0) -> nn.Module:
    return MLP(math.prod(input_shape), num_classes, hidden if hidden is not None else [100, 100, 100], input_scale)


def _lazy(module: str, factory: str, **fixed: Any) -> Callable[..., nn.Module]:
    """Entry whose module (torchvision, transformers: seconds to import) is imported only when a model is built."""
    def build(input_shape: tuple[int, ...], num_classes: int, **options: Any) -> nn.Module:
        return getattr(importlib.import_module(module), factory)(input_shape, num_classes, **fixed, **options)
    return build


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "resnet18": _lazy("gerne.models.resnet", "build_resnet", depth=18),
    "resnet50": _lazy("gerne.models.resnet", "build_resnet", depth=50),
    "bert": _lazy("gerne.models.bert", "build_bert"),
}


FILES: dict[str, str] = {  # the module each family is defined in: what a training stage depends on
    "mlp": "gerne/models/mlp.py",
    "resnet18": "gerne/models/resnet.py",
    "resnet50": "gerne/models/resnet.py",
    "bert": "gerne/models/bert.py",
}


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, **options: Any) -> nn.Module:
    """Instantiate model family ``name`` for inputs of ``input_shape`` (without batch) and ``num_classes``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model '{name}'; available: {sorted(MODELS)}")
    check_model_options(name, options, unknown=True)  # wrong types and ranges; unknown keys: the factory's TypeError
    return MODELS[name](tuple(input_shape), num_classes, **options)
