"""The drop-in loss: Eq. 5 on the two halves, and the same loss as per-sample weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gerne import ConfigError
from gerne.loop import GerneLoss, sample_weights, split


def test_extrapolated_loss_of_the_two_halves() -> None:
    torch.manual_seed(0)
    logits, y = torch.randn(8, 3), torch.randint(3, (8,))
    loss = GerneLoss(beta=1.5)(logits, y)
    l_b, l_lb = F.cross_entropy(logits[:4], y[:4]), F.cross_entropy(logits[4:], y[4:])
    assert loss.item() == pytest.approx((l_lb + 1.5 * (l_lb - l_b)).item())
    assert GerneLoss(beta=-1.0)(logits, y).item() == pytest.approx(l_b.item())  # β = −1: the biased batch alone


def test_sample_weights_give_the_same_loss() -> None:
    torch.manual_seed(1)
    logits, y = torch.randn(10, 4), torch.randint(4, (10,))
    per_sample = F.cross_entropy(logits, y, reduction="none")
    assert (sample_weights(10, 0.8) * per_sample).sum().item() == pytest.approx(GerneLoss(0.8)(logits, y).item())


def test_an_odd_batch_is_refused() -> None:
    with pytest.raises(ConfigError, match="equal halves"):
        split(torch.zeros(5))
    with pytest.raises(ConfigError, match="equal halves"):
        sample_weights(7, 1.0)
