"""GERNE — Gradient Extrapolation for Debiased Representation Learning (Asaad et al., ICCV 2025).

Public API (numpy arrays or torch tensors in; see METHOD.md for the equations):
  p_lb, p_ext, beta_bounds            Eq. 4, 8, 9
  pseudo_minority                     Sec. 4.2
  group_accuracies, gba, wga, worst_class_accuracy, class_balanced_accuracy   Sec. 5

GERNE in your own training loop: gerne.loop (GerneBatchSampler for a DataLoader, GerneLoss, pseudo_groups).
"""

from gerne.core.pseudo import pseudo_minority
from gerne.core.shares import beta_bounds, group_shares, p_ext, p_lb
from gerne.errors import ConfigError, DataError, GerneError
from gerne.metrics import class_balanced_accuracy, gba, group_accuracies, wga, worst_class_accuracy

__version__ = "0.1.0"

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
