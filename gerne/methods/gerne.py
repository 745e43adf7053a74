"""GERNE (Algorithm 1): a biased and a less-biased class-balanced batch per step, one step on L_ext (Eq. 5).

ERM is β = −1 (only the biased batch carries gradient) and group resampling is c = 1, β = 0 (only the less-biased
batch, which is then group-uniform): the same code path, no separate trainers.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gerne.core.objective import batch_weights, extrapolated_loss
from gerne.core.sampler import GroupSampler
from gerne.core.shares import beta_bounds, check_beta, group_shares, p_lb, plain, validate_c
from gerne.data.contract import Split, group_counts
from gerne.methods.base import BETA_RANGE, C_RANGE, Declared, Range
from gerne.methods.batches import gather
from gerne.train.stack import ModelStack

log = logging.getLogger(__name__)
BETA_CAP = 10.0  # upper end of the β range when Eq. 9 gives no finite bound (ours)


def resolve_beta(cfg: dict[str, Any], alpha: np.ndarray) -> float:
    """β of a config on training groups with shares ``alpha`` (K×A): an explicit ``beta``, or ``beta_u`` ∈ [0, 1]
    as its position inside the Eq. 9 bounds (from max(−1, lower) to min(upper, BETA_CAP))."""
    if "beta" in cfg:
        return float(cfg["beta"])
    lo, hi = beta_bounds(alpha, cfg["c"])
    lo, hi = max(-1.0, lo), min(hi, BETA_CAP)  # balanced groups leave Eq. 9 unbounded above
    return float(lo + cfg["beta_u"] * (hi - lo))


def shares_of(train: Split) -> np.ndarray:
    """α (K×A) of a training split's (pseudo-)groups."""
    return group_shares(group_counts(train.y.cpu().numpy(), train.a.cpu().numpy(), train.num_classes,
                                     train.num_attributes))


def has_batch_statistics(model: nn.Module) -> bool:
    """True if a layer's output depends on the batch (BatchNorm in training mode): batches must not be fused."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules())


class Gerne(Declared):
    """The GERNE update for one training split whose ``a`` holds the attributes the method may use."""

    name: ClassVar[str] = "gerne"
    stackable: ClassVar[bool] = True  # runs of any c, β, t share one stacked model (models without BatchNorm)
    batch_units: ClassVar[tuple[str, ...]] = ("class", "group")
    options: ClassVar[dict[str, Range]] = {"c": C_RANGE, "beta": BETA_RANGE}
    uses_beta: ClassVar[bool] = True

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """c of the config, β resolved inside Eq. 9 on ``train``'s (pseudo-)groups (:func:`resolve_beta`), B per
        class (or per pseudo-group where the protocol sets ``pseudo_batch_size``)."""
        batch, unit = protocol.batch_size, protocol.batch_unit
        if pseudo and protocol.pseudo_batch_size:
            batch, unit = protocol.pseudo_batch_size, "group"
        return {"c": cfg["c"], "beta": resolve_beta(cfg, shares_of(train)), "batch_size": batch,
                "batch_unit": unit, "track_both_losses": protocol.track_both_losses}

    def __init__(self, c: float, beta: float, batch_size: int, batch_unit: str = "class",
                 track_both_losses: bool = True, beyond_eq9_bound: bool = False) -> None:
        if batch_unit not in ("class", "group"):
            raise ValueError(f"batch_unit must be 'class' or 'group', got '{batch_unit}'")
        self.c, self.beta = validate_c(c), float(beta)
        self.beyond_eq9_bound = bool(beyond_eq9_bound)  # Fig. 2's divergence demo only: see :meth:`setup`
        self.batch_size, self.batch_unit = int(batch_size), batch_unit
        self.track_both_losses = track_both_losses
        self.w_b, self.w_lb = batch_weights(self.beta)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Build the sampler, check β against Eq. 9 (before any training) and fix both batch distributions.

        With ``beyond_eq9_bound`` (Fig. 2's divergence demo, never a normal run) a β outside Eq. 9 is logged as a
        loud warning instead of refused, and trained as given.
        """
        self.sampler = GroupSampler(train.y, train.a, train.num_classes, train.num_attributes)
        alpha = self.sampler.alpha
        empty = np.argwhere(self.sampler.counts == 0)
        if len(empty) and train.num_attributes > 1:
            log.warning("%d of %d groups are empty in the %s; they get probability 0 and the mass is renormalised "
                        "over the non-empty groups of their class: %s", len(empty), self.sampler.counts.size, what,
                        [tuple(g) for g in empty.tolist()])
        self.eq9_bounds = beta_bounds(alpha, self.c)
        if not self.beyond_eq9_bound:
            check_beta(alpha, self.c, self.beta, what=what)
        elif not self.eq9_bounds[0] <= self.beta <= self.eq9_bounds[1]:
            log.warning("!!! BEYOND EQ. 9: beta = %s is outside the Eq. 9 bounds [%.4f, %.4f] for c = %s on the %s, "
                        "trained anyway because beyond_eq9_bound is set (Fig. 2's divergence demo only, never a "
                        "normal run): p_ext gives some group a negative weight and training is expected to diverge",
                        plain(self.beta), *self.eq9_bounds, plain(self.c), what)
        self.p_b = self.sampler.probabilities(alpha)
        self.p_lb = self.sampler.probabilities(p_lb(alpha, self.c))
        self.per_class = self.batch_size * (train.num_attributes if self.batch_unit == "group" else 1)
        self.samples_per_batch = self.per_class * train.num_classes
        self.x, self.y = train.x, train.y

    def draw(self, generator: torch.Generator, biased: bool) -> torch.Tensor:
        """Indices of one class-balanced batch: biased (p_b = α) or less biased (p_lb, Eq. 4)."""
        return self.sampler.draw(self.p_b if biased else self.p_lb, self.per_class, generator)

    @classmethod
    def stacked(cls, methods: list[Gerne]) -> StackedStep:
        """The step of R GERNE runs trained side by side (the method protocol of ``gerne.methods.base``)."""
        return StackedStep(methods)

    def losses(self, model: nn.Module, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """One run's step: (L_ext to back-propagate, detached [L_b, L_lb, L_ext]); NaN = not computed."""
        loss, parts = StackedStep([self])(ModelStack([model]), [generator])
        return loss, parts[0]


class StackedStep:
    """The GERNE step of R runs at once: Σ_r L_ext,r (Eq. 5) and the detached ``[R, 3]`` table of L_b, L_lb, L_ext.

    Run r draws its biased batch, then its less-biased batch, from its own generator, so a stacked run sees the
    same batches as the same run alone. A batch whose weight is zero in every run gets no backward pass (it is
    still forwarded for logging if ``track_both_losses``); its loss is NaN when not computed at all. Everything
    that depends only on the configuration is fixed here, so a step makes no host synchronisation. The two phases,
    :meth:`batch` and :meth:`loss`, are public so that the benchmark can time them inside the real step.
    """

    loss_names = ("loss_b", "loss_lb", "loss_ext")

    def __init__(self, methods: list[Gerne]) -> None:
        device = methods[0].y.device
        self.methods = methods
        self.w_b = torch.tensor([m.w_b for m in methods], device=device)
        self.w_lb = torch.tensor([m.w_lb for m in methods], device=device)
        self.grad = {"b": any(m.w_b != 0 for m in methods), "lb": any(m.w_lb != 0 for m in methods)}
        track = any(m.track_both_losses for m in methods)
        self.parts = [p for p in ("b", "lb") if self.grad[p] or track]
        self.nan = torch.full_like(self.w_b, float("nan"))

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loss(stack, *self.batch(generators))

    def batch(self, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw and gather every run's batches: uint8 images ``[R, len(parts)·n, ...]`` and labels ``[R, ...]``."""
        idx = torch.stack([torch.cat([m.draw(g, biased=p == "b") for p in self.parts])
                           for m, g in zip(self.methods, generators, strict=True)])
        return gather(self.methods[0].x, self.methods[0].y, idx)

    def loss(self, stack: ModelStack, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward both batches and combine their mean cross-entropies into Σ_r L_ext,r and the loss table."""
        parts, grad, R = self.parts, self.grad, len(self.methods)
        n = x.shape[1] // len(parts)
        if len(parts) == 2 and grad["b"] and grad["lb"] and not has_batch_statistics(stack.base):
            logits = stack.forward(x)
        else:
            chunks = []
            for i, p in enumerate(parts):
                with torch.set_grad_enabled(grad[p]):
                    chunks.append(stack.forward(x[:, i * n : (i + 1) * n]))
            logits = torch.cat(chunks, dim=1)
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(R, len(parts), n)
        per_part = dict(zip(parts, ce.mean(2).unbind(1), strict=True))
        loss_b, loss_lb = per_part.get("b", self.nan), per_part.get("lb", self.nan)
        if not grad["lb"]:  # every run is ERM (β = −1): L_ext = L_b, without the element-wise selection below
            loss_ext = loss_b
        elif not grad["b"]:  # every run has β = 0: L_ext = L_lb
            loss_ext = loss_lb
        else:
            w_b, w_lb = self.w_b, self.w_lb
            loss_ext = torch.where(w_b == 0, loss_lb, torch.where(w_lb == 0, loss_b,
                                                                  extrapolated_loss(loss_lb, loss_b, -w_b)))
        return loss_ext.sum(), torch.stack([loss_b, loss_lb, loss_ext], dim=1).detach()
