"""The extrapolated loss of GERNE (Sec. 4.1.2, Eq. 5 / 7)."""

from __future__ import annotations

import torch


def extrapolated_loss(loss_lb: torch.Tensor, loss_b: torch.Tensor, beta: float) -> torch.Tensor:
    """L_ext = L_lb + β·(L_lb − L_b) (Eq. 5); one backward of it gives ∇L_ext of Eq. 7."""
    return loss_lb + beta * (loss_lb - loss_b)


def batch_weights(beta: float) -> tuple[float, float]:
    """Coefficients (w_b, w_lb) of L_ext = w_lb·L_lb + w_b·L_b, i.e. (−β, 1 + β).

    β = −1 gives (1, 0): only the biased batch carries gradient (class-balanced ERM); β = 0 gives (0, 1): only the
    less-biased batch does (resampling when c = 1). A zero weight lets the trainer skip that batch's backward pass.
    """
    return -float(beta), 1.0 + float(beta)
