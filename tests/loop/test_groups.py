"""Pseudo-groups from a biased model's confidences (Sec. 4.2) and Eq. 9's bounds on them, for your own loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gerne.core.shares import beta_bounds
from gerne.loop import GerneBatchSampler, confidences, eq9_bounds, pseudo_groups, true_class_confidence


def test_the_least_confident_share_of_each_class_is_the_pseudo_minority() -> None:
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    conf = torch.tensor([0.9, 0.2, 0.8, 0.7, 0.1, 0.95, 0.9, 0.99])
    groups = pseudo_groups(conf, y, t=0.25)
    assert groups.tolist() == [1, 0, 1, 1, 0, 1, 1, 1]  # one of four per class: its lowest confidence
    assert isinstance(pseudo_groups(conf.numpy(), y.numpy(), 0.25), np.ndarray)
    with pytest.raises(ValueError, match=r"t = 1.5 is outside \(0, 1\)"):
        pseudo_groups(conf, y, 1.5)


def test_confidences_follow_the_loader_and_feed_the_sampler() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(40, 5), torch.arange(2).repeat(20)
    model = nn.Linear(5, 2).train()
    conf = confidences(model, DataLoader(TensorDataset(x, y), batch_size=16))
    assert model.training  # put back as it was
    torch.testing.assert_close(conf, true_class_confidence(model(x), y).detach())
    groups = pseudo_groups(conf, y, 0.1)
    assert (groups == 0).sum() == 4  # ⌊0.1 · 20⌋ per class
    low, high = eq9_bounds(y, groups, 0.5)
    assert (low, high) == pytest.approx(beta_bounds(np.array([[0.1, 0.9], [0.1, 0.9]]), 0.5))
    assert GerneBatchSampler(y, groups, batch_size=2, c=0.5, beta=high).beta_bounds == (low, high)
