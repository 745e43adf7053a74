"""The options each model family takes (params.yaml's ``model_options``), checked before a model is built.

Each option has a strict type: a boolean is never a number (``hidden: [100, true]`` is not a width of 1), a number
never a boolean (``pretrained: 1``), floats are finite. The params schema checks a protocol's options here, so
``gerne validate`` refuses what building the model would refuse (or silently get wrong).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import Field, Strict, TypeAdapter, ValidationError

from gerne.errors import ConfigError

_Width = Annotated[int, Strict(), Field(ge=1)]
_Flag = Annotated[bool, Strict()]
_Text = Annotated[str, Strict(), Field(min_length=1)]


def _real(**bounds: float) -> Any:
    return Annotated[float, Strict(), Field(allow_inf_nan=False, **bounds)]


_RESNET: dict[str, tuple[Any, str]] = {
    "pretrained": (_Flag, "true: ImageNet weights, false: random initialisation"),
    "freeze_bn": (_Flag, "true: BatchNorm statistics frozen (SubpopBench)"),
    "input_size": (Annotated[int, Strict(), Field(ge=32)] | None, "side in px the images are resized to on the "
                   "device, at least 32, or null"),
}
# family -> option -> (type, what it means); the options the family's factory takes besides shape and classes
OPTIONS: dict[str, dict[str, tuple[Any, str]]] = {
    "mlp": {"hidden": (list[_Width], "hidden-layer widths, whole numbers >= 1, e.g. [100, 100, 100]"),
            "input_scale": (_real(gt=0.0), "finite number > 0 (1.0: inputs in [0, 1]; 3.9215686e-3 = 1/255: "
                            "LfF's and DFA's double division)")},
    "resnet18": _RESNET,
    "resnet50": _RESNET,
    "bert": {"checkpoint": (_Text, "Hugging Face checkpoint name, e.g. bert-base-uncased"),
             "pretrained": (_Flag, "true: the checkpoint's weights, false: random initialisation"),
             "dropout": (_real(ge=0.0, lt=1.0), "last-layer dropout in [0, 1)"),
             **{name: (Annotated[int, Strict(), Field(ge=0 if name == "pad_id" else 1)], "a whole number >= "
                       + ("0" if name == "pad_id" else "1"))
                for name in ("pad_id", "vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                             "max_positions")}},
}
_ADAPTERS = {family: {k: TypeAdapter(t) for k, (t, _) in opts.items()} for family, opts in OPTIONS.items()}


def check_model_options(name: str, options: dict[str, Any], unknown: bool = False) -> dict[str, Any]:
    """``options`` if each is one model family ``name`` takes with a value of its type; a ConfigError naming
    ``model_options.<key>``, the value and what it must be otherwise. ``unknown=True`` leaves keys the table does
    not list to the family's factory (which refuses them with a TypeError)."""
    table = OPTIONS.get(name, {})
    for key, value in options.items():
        if key not in table:
            if unknown or name not in OPTIONS:
                continue
            close = difflib.get_close_matches(key, table, n=1)
            raise ConfigError(f"model_options.{key}: model {name} takes no option '{key}'"
                              + (f" (did you mean '{close[0]}'?)" if close else "") + f"; it takes {sorted(table)}")
        try:
            _ADAPTERS[name][key].validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(f"[{p}]" for p in first["loc"] if isinstance(p, int))
            raise ConfigError(f"model_options.{key}{where} of model {name}: {first['msg'].lower()}, got "
                              f"{first['input']!r}; {key} is {table[key][1]}") from None
    return options
