"""GERNE — Gradient Extrapolation for Debiased Representation Learning (Asaad et al., ICCV 2025).

Public API (numpy arrays or torch tensors in; see METHOD.md for the equations):
  p_lb, p_ext, beta_bounds            Eq. 4, 8, 9
  pseudo_minority                     Sec. 4.2
  group_accuracies, gba, wga, worst_class_accuracy, class_balanced_accuracy   Sec. 5

GERNE in your own training loop: gerne.loop (GerneBatchSampler for a DataLoader, GerneLoss, pseudo_groups).
"""

from typing import TYPE_CHECKING, Any

from gerne.errors import ConfigError, DataError, GerneError

__version__ = "0.1.0"

# name -> module: imported on first use (PEP 562), so that `import gerne.layout` or a report stage does not pay for
# torch (about 2 s) when it needs none of these
_LAZY = {
    "pseudo_minority": "gerne.core.pseudo",
    **dict.fromkeys(("beta_bounds", "group_shares", "p_ext", "p_lb"), "gerne.core.shares"),
    **dict.fromkeys(("class_balanced_accuracy", "gba", "group_accuracies", "wga", "worst_class_accuracy"),
                    "gerne.metrics"),
}

if TYPE_CHECKING:
    from gerne.core.pseudo import pseudo_minority
    from gerne.core.shares import beta_bounds, group_shares, p_ext, p_lb
    from gerne.metrics import class_balanced_accuracy, gba, group_accuracies, wga, worst_class_accuracy


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gerne' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "ConfigError",
    "DataError",
    "GerneError",
    "beta_bounds",
    "class_balanced_accuracy",
    "gba",
    "group_accuracies",
    "group_shares",
    "p_ext",
    "p_lb",
    "pseudo_minority",
    "wga",
    "worst_class_accuracy",
]
