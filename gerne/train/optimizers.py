"""Optimisers by name with the paper's settings (METHOD.md Appendix F; BENCHMARKS.md SubpopBench protocol).

- ``sgd``: the foreach SGD of ``gerne.train.optim`` (momentum 0.9; image models, constant lr).
- ``adamw``: ``torch.optim.AdamW`` with eps 1e-8 (BERT; SubpopBench adds a linear decay to 0 without warm-up and
  gradient clipping at norm 1.0).
The schedule sets the lr before each step: step k (0-based) uses lr·max(0, 1 − k/total_steps), the values of a
``LambdaLR`` stepped after every update. Clipping rescales gradients on the device without a host sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from gerne.errors import ConfigError
from gerne.train.optim import SGD


def _sgd(params: list[torch.nn.Parameter], lr: float, weight_decay: float, momentum: float) -> SGD:
    return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _adamw(params: list[torch.nn.Parameter], lr: float, weight_decay: float, momentum: float) -> Any:
    # torch.optim is imported here: constructing its optimisers imports TorchDynamo (seconds; see optim.py)
    from torch.optim import AdamW

    return AdamW(params, lr=lr, weight_decay=weight_decay, eps=1e-8)


OPTIMIZERS: dict[str, Callable[[list[torch.nn.Parameter], float, float, float], Any]] = {"sgd": _sgd, "adamw": _adamw}
SCHEDULES = ("constant", "linear")


class Optimizer:
    """An optimiser with an lr schedule and optional gradient clipping; ``zero_grad()``, ``step()``, ``lr``."""

    def __init__(self, inner: Any, params: list[torch.nn.Parameter], lr: float, total_steps: int,
                 schedule: str, clip_norm: float | None) -> None:
        self.inner, self.params = inner, params
        self.base_lr, self.total_steps, self.schedule, self.clip_norm = lr, total_steps, schedule, clip_norm
        self.steps = 0

    @property
    def lr(self) -> float:
        """Learning rate of the next step."""
        if self.schedule == "linear":
            return self.base_lr * max(0.0, 1.0 - self.steps / self.total_steps)
        return self.base_lr

    def _set_lr(self, lr: float) -> None:
        if isinstance(self.inner, SGD):
            self.inner.lr = lr
        else:
            for group in self.inner.param_groups:
                group["lr"] = lr

    def zero_grad(self) -> None:
        """Drop gradients (set to None)."""
        self.inner.zero_grad()

    def step(self) -> None:
        """Clip (if configured), set the scheduled lr, update."""
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm)  # foreach kernels where the device has them
        if self.schedule != "constant":
            self._set_lr(self.lr)
        self.inner.step()
        self.steps += 1


def build_optimizer(name: str, params: Iterable[torch.nn.Parameter], *, lr: float, weight_decay: float,
                    momentum: float = 0.9, total_steps: int, schedule: str = "constant",
                    clip_norm: float | None = None) -> Optimizer:
    """Optimiser ``name`` (``sgd`` | ``adamw``) over the trainable ``params``; ``momentum`` is used by SGD only."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer '{name}'; available: {sorted(OPTIMIZERS)}")
    if schedule not in SCHEDULES:
        raise ConfigError(f"unknown lr schedule '{schedule}'; available: {list(SCHEDULES)}")
    if schedule == "linear" and total_steps < 1:
        raise ConfigError(f"a linear lr schedule needs total_steps ≥ 1, got {total_steps}")
    if clip_norm is not None and clip_norm <= 0:
        raise ConfigError(f"clip_norm must be positive (or None for no clipping), got {clip_norm}")
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ConfigError(f"optimizer '{name}' got no trainable parameters")
    inner = OPTIMIZERS[name](trainable, float(lr), float(weight_decay), float(momentum))
    return Optimizer(inner, trainable, float(lr), int(total_steps), schedule, clip_norm)
