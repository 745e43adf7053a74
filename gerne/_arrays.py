"""Input conversion shared by the public functions: accept numpy arrays and torch tensors alike."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = Any  # numpy array, torch tensor or nested sequence


def to_numpy(x: ArrayLike, name: str, dtype: Any = None) -> np.ndarray:
    """Return ``x`` as a numpy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}: {exc}") from exc
    return arr


def to_long_tensor(x: ArrayLike, name: str, device: torch.device | None = None) -> torch.Tensor:
    """Return ``x`` as a 1-D int64 tensor (kept on its device if already a tensor)."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer labels, got dtype {t.dtype}")
    t = t.to(torch.int64)
    return t if device is None else t.to(device)
