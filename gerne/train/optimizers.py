"""Optimisers by name with the paper's settings (METHOD.md Appendix F; BENCHMARKS.md SubpopBench protocol).

- ``sgd``: :class:`ForeachSGD` (momentum 0.9; image models, constant lr).
- ``adam``: :class:`ForeachAdam` (L2 weight decay; DFA's Vanilla ERM and LfF: lr 0.01 / 0.001, no decay).
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


class ForeachOptimizer:
    """A fixed list of trainable parameters updated by ``torch._foreach_*`` calls. It exists because constructing
    ``torch.optim`` optimisers imports TorchDynamo, ~4 s per process, more than a whole C-MNIST epoch, in every short
    pipeline stage. ``param_groups`` holds the one group's ``lr`` as ``torch.optim`` optimisers do, so schedules set
    it the same way."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ConfigError(f"{type(self).__name__} got no trainable parameters")
        self.param_groups = [{"params": self.params, "lr": float(lr)}]
        self.weight_decay = float(weight_decay)

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    def zero_grad(self) -> None:
        """Drop gradients (set to None, as ``set_to_none=True``)."""
        for p in self.params:
            p.grad = None

    def _gradients(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The parameters that have a gradient and their gradients plus the L2 term, wd·p (as ``torch.optim``)."""
        params = [p for p in self.params if p.grad is not None]
        grads = [p.grad for p in params]
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        return params, grads


class ForeachSGD(ForeachOptimizer):
    """SGD with momentum and L2 weight decay: numerically ``torch.optim.SGD`` (PyTorch's formulation:
    g ← g + wd·p; v ← μ·v + g, v₁ = g; p ← p − lr·v); tested against it step for step."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self._buffers: list[torch.Tensor] | None = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        params, grads = self._gradients()
        if self.momentum:
            if self._buffers is None:
                self._buffers = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self._buffers, self.momentum)
                torch._foreach_add_(self._buffers, grads)
            grads = self._buffers
        torch._foreach_add_(params, grads, alpha=-self.lr)


class ForeachAdam(ForeachOptimizer):
    """Adam with L2 weight decay (β = 0.9, 0.999; ε = 1e-8) as eight ``torch._foreach_*`` calls over a fixed parameter
    list: ``torch.optim.Adam``'s own foreach arithmetic, op for op (g ← g + wd·p; m ← lerp(m, g, 1 − β₁);
    v ← β₂·v + (1 − β₂)·g²; p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)), so bit-identical to it (tested step
    for step, with and without decay), with the step count a Python int instead of a tensor per parameter, and no
    TorchDynamo import. A C-MNIST Adam step (256 images, MLP) is a few per cent faster (measured interleaved in one
    process; within the noise of a shared 2-core VM).
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps, self.steps = (float(betas[0]), float(betas[1])), float(eps), 0
        self._moments: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter (all must have gradients after the first step, as in the loop)."""
        params, grads = self._gradients()
        if self._moments is None:
            self._moments = ([torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params])
        (b1, b2), (m, v) = self.betas, self._moments
        self.steps += 1
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, 1 - b2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, (1 - b2**self.steps) ** 0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, -(self.lr / (1 - b1**self.steps)))


def _sgd(params: list[torch.nn.Parameter], lr: float, weight_decay: float, momentum: float) -> ForeachSGD:
    return ForeachSGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _adam(params: list[torch.nn.Parameter], lr: float, weight_decay: float, momentum: float) -> ForeachAdam:
    return ForeachAdam(params, lr=lr, weight_decay=weight_decay)


def _adamw(params: list[torch.nn.Parameter], lr: float, weight_decay: float, momentum: float) -> Any:
    # torch.optim is imported here: constructing its optimisers imports TorchDynamo (seconds; see ForeachSGD)
    from torch.optim import AdamW

    return AdamW(params, lr=lr, weight_decay=weight_decay, eps=1e-8)


OPTIMIZERS: dict[str, Callable[[list[torch.nn.Parameter], float, float, float], Any]] = {
    "sgd": _sgd, "adam": _adam, "adamw": _adamw}
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
    """Optimiser ``name`` (``sgd`` | ``adam`` | ``adamw``) over the trainable ``params``; ``momentum``: SGD only."""
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
        raise ConfigError(f"optimizer '{name}' got no trainable parameters")  # before torch.optim's own error
    inner = OPTIMIZERS[name](trainable, float(lr), float(weight_decay), float(momentum))
    return Optimizer(inner, trainable, float(lr), int(total_steps), schedule, clip_norm)
