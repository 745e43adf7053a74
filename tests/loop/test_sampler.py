"""The drop-in sampler: batches that follow p_b and p_lb (Eq. 2, 4), seeded and resumable, shared exactly across
ranks, and errors that name the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from gerne import ConfigError, DataError
from gerne.core.shares import p_lb
from gerne.loop import GerneBatchSampler, eq9_bounds

K, A = 3, 2


def _data(n_minor: int = 30, n_major: int = 270) -> tuple[torch.Tensor, torch.Tensor]:
    """K classes; attribute a = y's own colour in the majority, the other colour in the minority."""
    y = torch.arange(K).repeat_interleave(n_minor + n_major)
    a = torch.cat([torch.cat([torch.ones(n_minor), torch.zeros(n_major)]) for _ in range(K)]).long()
    return y, a


def _frequencies(sampler: GerneBatchSampler, y: torch.Tensor, a: torch.Tensor, steps: int) -> np.ndarray:
    """Share of each (half, class, attribute) over ``steps`` batches: [2, K, A]."""
    counts = np.zeros((2, K, A))
    for _ in range(steps):
        idx = sampler.draw()
        half = len(idx) // 2
        for h, part in enumerate((idx[:half], idx[half:])):
            np.add.at(counts[h], (y[part].numpy(), a[part].numpy()), 1)
    return counts / counts.sum(axis=2, keepdims=True)


def test_batches_follow_p_b_and_p_lb() -> None:
    y, a = _data()
    sampler = GerneBatchSampler(y, a, batch_size=50, c=0.5, seed=0)
    freq = _frequencies(sampler, y, a, 400)  # 20,000 draws per class and half: standard error under 0.003
    alpha = np.array([[0.9, 0.1]] * K)
    assert np.allclose(sampler.alpha, alpha)
    assert np.abs(freq[0] - alpha).max() < 0.015  # the biased batch: α (Eq. 2)
    assert np.abs(freq[1] - p_lb(alpha, 0.5)).max() < 0.015  # the less-biased batch: p_lb = 0.7 / 0.3 (Eq. 4)
    idx = sampler.draw()
    assert (torch.bincount(y[idx[:150]], minlength=K) == 50).all()  # class-balanced: B per class in each batch
    assert (torch.bincount(y[idx[150:]], minlength=K) == 50).all()


def test_a_dataloader_yields_both_batches_and_the_same_seed_the_same_batches() -> None:
    y, a = _data()
    data = TensorDataset(torch.randn(len(y), 4), y)
    first = [b[1] for b in DataLoader(data, batch_sampler=GerneBatchSampler(y, a, batch_size=4, seed=7))]
    again = [b[1] for b in DataLoader(data, batch_sampler=GerneBatchSampler(y, a, batch_size=4, seed=7))]
    assert len(first) == 900 // 12 and all(x.shape == (24,) for x in first)  # ⌈N / (K·B)⌉ steps of 2·K·B
    assert all(torch.equal(p, q) for p, q in zip(first, again, strict=True))


def test_state_dict_resumes_with_the_batches_that_come_next() -> None:
    y, a = _data()
    whole = GerneBatchSampler(y, a, batch_size=4, seed=3)
    expected = [whole.draw() for _ in range(6)]
    part = GerneBatchSampler(y, a, batch_size=4, seed=3)
    [part.draw() for _ in range(4)]
    resumed = GerneBatchSampler(y, a, batch_size=4, seed=99)
    resumed.load_state_dict(part.state_dict())
    assert torch.equal(resumed.draw(), expected[4]) and torch.equal(resumed.draw(), expected[5])


def test_ranks_share_each_batch_exactly() -> None:
    y, a = _data()
    single = GerneBatchSampler(y, a, batch_size=4, seed=1, rank=0, world_size=1).draw()
    shards = [GerneBatchSampler(y, a, batch_size=4, seed=1, rank=r, world_size=3).draw() for r in range(3)]
    half = len(single) // 2
    for h in (slice(None, half), slice(half, None)):
        union = torch.cat([s[: len(s) // 2] if h.start is None else s[len(s) // 2 :] for s in shards])
        assert sorted(union.tolist()) == sorted(single[h].tolist())  # the union is the one-process batch
    assert all(len(s) == len(single) // 3 for s in shards)
    with pytest.raises(ConfigError, match="cannot share equally"):
        GerneBatchSampler(y, a, batch_size=4, rank=0, world_size=5)


def test_beta_is_checked_against_eq9_at_construction() -> None:
    y, a = _data()
    low, high = eq9_bounds(y, a, 0.5)
    GerneBatchSampler(y, a, batch_size=4, c=0.5, beta=high)
    with pytest.raises(ConfigError, match=r"beta = .* is outside the Eq. 9 bounds"):
        GerneBatchSampler(y, a, batch_size=4, c=0.5, beta=high + 0.1)
    assert GerneBatchSampler(y, a, batch_size=4, c=0.5).beta_bounds == (low, high)


@pytest.mark.parametrize(("labels", "attributes", "kwargs", "message"), [
    ([0, 0, 2, 2], [0, 1, 0, 1], {}, r"classes \[1\] have no training sample"),
    ([0, 1, 2], [0, 1, 0], {"num_classes": 2}, r"labels holds 2, outside 0..1 \(num_classes = 2\)"),
    ([0, 1, -1], [0, 1, 0], {}, "labels holds -1"),
    ([0, 1], [0, 1, 0], {}, "differ in length"),
    ([0.0, 1.0], [0, 1], {}, "integer labels"),
    ([0, 1], [0, 1], {"c": 1.5}, r"outside \(0, 1\]"),
    ([0, 1], [0, 1], {"batch_size": 0}, "batch_size must be a whole number"),
    ([0, 1], [0, 1], {"batch_unit": "sample"}, "batch_unit must be one of"),
])
def test_bad_input_is_refused_with_the_problem_named(labels, attributes, kwargs, message) -> None:
    with pytest.raises((ConfigError, DataError, ValueError), match=message):
        GerneBatchSampler(labels, attributes, **{"batch_size": 2, **kwargs})
