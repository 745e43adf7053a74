"""JTT: the error set is upsampled by λ_up (its share of the batches), the error set comes from the reference
model's confidence, and a split without an error set is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gerne.groups import apply_grouping
from gerne.methods.jtt import Jtt
from tests.methods.synthetic import fixed_model, grouped_split


def test_error_set_is_upsampled_by_up() -> None:
    split = grouped_split([[900, 100], [100, 900]])
    scores = np.where((split.y != split.a).numpy(), 0.2, 0.9)  # f̃ fails exactly the 200 conflicting samples
    train = apply_grouping("errors", split, scores=scores)
    assert int((train.a == 0).sum()) == 200 and bool(((train.a == 0) == (split.y != split.a)).all())
    method = Jtt(batch_size=500, up=20.0)
    method.setup(train)
    step = Jtt.stacked([method])
    gen = torch.Generator().manual_seed(0)
    shares = torch.stack([step(fixed_model(split, [[1.0, 1.0], [1.0, 1.0]]), [gen])[1][0, 0] for _ in range(40)])
    expected = 20.0 * 200 / (20.0 * 200 + 1800)  # P(error set) = up·|E| / (up·|E| + |rest|)
    assert float(shares.mean()) == pytest.approx(expected, abs=0.01)
    assert method.error_share == pytest.approx(0.1)


def test_error_set_holds_every_sample_without_a_majority() -> None:
    split = grouped_split([[3, 1], [2, 2]])
    train = apply_grouping("errors", split, scores=np.array([0.9, 0.5, 0.49, 0.1, 0.7, 0.2, 0.6, 0.0]))
    assert train.a.tolist() == [1, 1, 0, 0, 1, 0, 1, 0] and train.num_attributes == 2


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Jtt(batch_size=4, up=0.5)
    with pytest.raises(ValueError, match="groups: errors"):
        Jtt(batch_size=4, up=5.0).setup(grouped_split([[3, 1, 1], [2, 2, 1]]))
