"""Group DRO: q moves toward the worst group, the batches are group-balanced, and q starts uniform over the
non-empty groups."""

from __future__ import annotations

import pytest
import torch

from gerne.methods.groupdro import GroupDro
from tests.methods.synthetic import fixed_model, grouped_split


def test_weights_move_toward_the_worst_group() -> None:
    split = grouped_split([[900, 100], [50, 950]])
    method = GroupDro(batch_size=40, eta=0.1)
    method.setup(split)
    step = GroupDro.stacked([method])
    stack = fixed_model(split, [[3.0, 0.5], [-1.0, 2.0]])  # group (1, 0) is the hardest, then (0, 1)
    gen = torch.Generator().manual_seed(0)
    assert step.q[0].tolist() == pytest.approx([0.25] * 4)
    history = [step(stack, [gen]) and step.q[0].clone() for _ in range(100)]
    assert int(history[-1].argmax()) == 2  # gid of (y=1, a=0)
    assert history[-1][2] > history[10][2] > history[0][2] > 0.25
    assert history[-1][0] < 0.25 and float(history[-1].sum()) == pytest.approx(1.0)


def test_batches_are_group_balanced_and_the_robust_loss_weights_group_means() -> None:
    split = grouped_split([[990, 10], [5, 995]])
    method = GroupDro(batch_size=2000, eta=1.0e-6)
    method.setup(split)
    idx = method.draw(torch.Generator().manual_seed(1))
    counts = torch.bincount(method.gid[idx], minlength=4).float()
    assert (counts / counts.sum()).tolist() == pytest.approx([0.25] * 4, abs=0.03)
    step = GroupDro.stacked([method])
    loss, table = step(fixed_model(split, [[1.0, 1.0], [1.0, 1.0]]), [torch.Generator().manual_seed(2)])
    assert float(loss) == pytest.approx(float(table[0, 0]), rel=1e-4)  # equal group losses: robust = mean CE


def test_empty_groups_start_without_weight_and_bad_eta_is_refused() -> None:
    split = grouped_split([[10, 0], [5, 7]])
    method = GroupDro(batch_size=4)
    method.setup(split)
    assert method.q0.tolist() == pytest.approx([1 / 3, 0.0, 1 / 3, 1 / 3])
    with pytest.raises(ValueError, match="eta"):
        GroupDro(batch_size=4, eta=0.0)
