"""GERNE (Algorithm 1): a biased and a less-biased class-balanced batch per step, one step on L_ext (Eq. 5).

ERM is β = −1 (only the biased batch carries gradient) and group resampling is c = 1, β = 0 (only the less-biased
batch, which is then group-uniform): the same code path, no separate trainers.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gerne.core.objective import batch_weights, extrapolated_loss
from gerne.core.sampler import GroupSampler
from gerne.core.shares import check_beta, p_lb, validate_c
from gerne.data.contract import Split

log = logging.getLogger(__name__)


def has_batch_statistics(model: nn.Module) -> bool:
    """True if a layer's output depends on the batch (BatchNorm in training mode): batches must not be fused."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training for m in model.modules())


class Gerne:
    """The GERNE update for one training split whose ``a`` holds the attributes the method may use."""

    name = "gerne"

    def __init__(self, c: float, beta: float, batch_size: int, batch_unit: str = "class",
                 track_both_losses: bool = True) -> None:
        if batch_unit not in ("class", "group"):
            raise ValueError(f"batch_unit must be 'class' or 'group', got '{batch_unit}'")
        self.c, self.beta = validate_c(c), float(beta)
        self.batch_size, self.batch_unit = int(batch_size), batch_unit
        self.track_both_losses = track_both_losses
        self.w_b, self.w_lb = batch_weights(self.beta)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Build the sampler, check β against Eq. 9 (before any training) and fix both batch distributions."""
        self.sampler = GroupSampler(train.y, train.a, train.num_classes, train.num_attributes)
        alpha = self.sampler.alpha
        empty = np.argwhere(self.sampler.counts == 0)
        if len(empty) and train.num_attributes > 1:
            log.warning("%d of %d groups are empty in the %s; they get probability 0 and the mass is renormalised "
                        "over the non-empty groups of their class: %s", len(empty), self.sampler.counts.size, what,
                        [tuple(g) for g in empty.tolist()])
        check_beta(alpha, self.c, self.beta, what=what)
        self.p_b = self.sampler.probabilities(alpha)
        self.p_lb = self.sampler.probabilities(p_lb(alpha, self.c))
        self.per_class = self.batch_size * (train.num_attributes if self.batch_unit == "group" else 1)
        self.samples_per_batch = self.per_class * train.num_classes
        self.x, self.y = train.x, train.y

    def _draw(self, probs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self.sampler.draw(probs, self.per_class, generator)
        return self.x[idx], self.y[idx]

    def losses(self, model: nn.Module, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(L_ext to back-propagate, detached [L_b, L_lb, L_ext]); NaN marks a loss that was not computed."""
        need_b = self.w_b != 0 or self.track_both_losses
        need_lb = self.w_lb != 0 or self.track_both_losses
        xb, yb = self._draw(self.p_b, generator) if need_b else (None, None)
        xlb, ylb = self._draw(self.p_lb, generator) if need_lb else (None, None)
        if self.w_b != 0 and self.w_lb != 0 and not has_batch_statistics(model):
            logits = model(torch.cat([xb, xlb]))
            n = xb.shape[0]
            loss_b, loss_lb = F.cross_entropy(logits[:n], yb), F.cross_entropy(logits[n:], ylb)
        else:
            loss_b = self._loss(model, xb, yb, grad=self.w_b != 0)
            loss_lb = self._loss(model, xlb, ylb, grad=self.w_lb != 0)
        if self.w_b == 0:
            loss_ext = loss_lb
        elif self.w_lb == 0:
            loss_ext = loss_b
        else:
            loss_ext = extrapolated_loss(loss_lb, loss_b, self.beta)
        return loss_ext, torch.stack([loss_b.detach(), loss_lb.detach(), loss_ext.detach()])

    def _loss(self, model: nn.Module, x: torch.Tensor | None, y: torch.Tensor | None, grad: bool) -> torch.Tensor:
        if x is None:
            return torch.tensor(float("nan"), device=self.y.device)
        with torch.set_grad_enabled(grad):
            return F.cross_entropy(model(x), y)
