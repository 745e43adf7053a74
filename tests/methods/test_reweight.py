"""ReWeight and SqrtReWeight: effective group weights (n_g·w_g equal, resp. ∝ √n_g), mean weight 1, and the batch
loss an unbiased estimate of the group-balanced risk."""

from __future__ import annotations

import pytest
import torch

from gerne.methods.reweight import Reweight, SqrtReweight, group_weights
from tests.methods.synthetic import fixed_model, group_ce, grouped_split

SIZES = [[900, 100], [50, 950]]


def test_reweight_gives_every_group_the_same_total_weight() -> None:
    sizes = torch.tensor([900.0, 100.0, 50.0, 950.0])
    w = group_weights(sizes, 1.0)
    assert (sizes * w).tolist() == pytest.approx([500.0] * 4)  # each group carries a quarter of the N = 2000
    assert float((sizes * w).sum() / sizes.sum()) == pytest.approx(1.0)  # mean weight 1: ERM's scale


def test_sqrt_reweight_total_weight_grows_with_the_square_root_of_the_size() -> None:
    sizes = torch.tensor([900.0, 100.0, 50.0, 950.0])
    total = sizes * group_weights(sizes, 0.5)
    assert (total / sizes.sqrt()).tolist() == pytest.approx([float(total[0] / 30.0)] * 4)
    assert float(total.sum()) == pytest.approx(2000.0)


def test_empty_groups_get_no_weight() -> None:
    w = group_weights(torch.tensor([10.0, 0.0, 30.0]), 1.0)
    assert w[1] == 0 and float((torch.tensor([10.0, 0.0, 30.0]) * w).sum()) == pytest.approx(40.0)


@pytest.mark.parametrize("cls", [Reweight, SqrtReweight])
def test_batch_loss_averages_to_the_weighted_group_risk(cls: type) -> None:
    split = grouped_split(SIZES)
    margins = [[3.0, 0.5], [-1.0, 2.0]]
    method = cls(batch_size=200)
    method.setup(split)
    step = cls.stacked([method])
    stack = fixed_model(split, margins)
    gen = torch.Generator().manual_seed(0)
    losses = torch.stack([step(stack, [gen])[1][0] for _ in range(400)])
    sizes = torch.tensor(SIZES, dtype=torch.float64).flatten()
    share = sizes * group_weights(sizes, cls.power) / sizes.sum()  # each group's share of the expected loss
    ce = torch.tensor([group_ce(m, 2) for row in margins for m in row], dtype=torch.float64)
    assert float(losses[:, 1].mean()) == pytest.approx(float((share * ce).sum()), rel=0.03)
    assert float(losses[:, 0].mean()) == pytest.approx(float((sizes * ce).sum() / sizes.sum()), rel=0.03)
