"""GERNE's extrapolated loss for your own loop (Sec. 4.1.2): L_ext = L_lb + β·(L_lb − L_b) (Eq. 5), whose gradient is
Eq. 7's extrapolation from the biased towards the less-biased batch.

:class:`GerneLoss` takes the logits of one forward pass over the batch :class:`gerne.loop.GerneBatchSampler`
yields (the biased half, then the less-biased half); :func:`sample_weights` gives the same loss as per-sample
weights, for a loss you reduce yourself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gerne.core.objective import extrapolated_loss
from gerne.errors import ConfigError

Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # mean loss of (outputs, targets)


def split(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(biased half, less-biased half) of a batch the sampler yielded (or of its logits, labels, …)."""
    n = batch.shape[0]
    if n % 2:
        raise ConfigError(f"a GERNE batch holds the biased and the less-biased batch, equal halves; got {n} rows "
                          "(use GerneBatchSampler as the DataLoader's batch_sampler, with drop_last unset)")
    return batch[: n // 2], batch[n // 2 :]


class GerneLoss(nn.Module):
    """L_ext (Eq. 5) of a GERNE batch: ``criterion`` (mean cross-entropy by default) on each half, extrapolated.

    After a call, :attr:`last` holds the detached (L_b, L_lb) of that batch, for logging without a host sync.
    A model with BatchNorm should see the two batches apart, as the pipeline does:
    ``torch.cat([model(half) for half in split(x)])``; otherwise one forward pass over ``x`` is the same.
    """

    def __init__(self, beta: float, criterion: Criterion = F.cross_entropy) -> None:
        super().__init__()
        self.beta, self.criterion = float(beta), criterion
        self.last: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        (out_b, out_lb), (y_b, y_lb) = split(outputs), split(targets)
        loss_b, loss_lb = self.criterion(out_b, y_b), self.criterion(out_lb, y_lb)
        self.last = (loss_b.detach(), loss_lb.detach())
        return extrapolated_loss(loss_lb, loss_b, self.beta)


def sample_weights(batch: int, beta: float, device: torch.device | str | None = None) -> torch.Tensor:
    """Per-sample weights w of a GERNE batch of ``batch`` rows (two equal halves) such that Σ w_i·ℓ_i = L_ext
    (Eq. 5) for per-sample losses ℓ: −β/n on the biased half, (1 + β)/n on the less-biased half."""
    if batch < 2 or batch % 2:
        raise ConfigError(f"a GERNE batch has two equal halves; got {batch} rows")
    n = batch // 2
    return torch.cat([torch.full((n,), -float(beta) / n, device=device),
                      torch.full((n,), (1.0 + float(beta)) / n, device=device)])
