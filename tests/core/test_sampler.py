"""GroupSampler: class-balanced batches whose group frequencies follow the requested p(a|y) (Algorithm 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gerne.core.sampler import GroupSampler
from gerne.core.shares import p_lb

K, A = 3, 4
# very unequal groups; class 0 has an empty group (3), class 2 has three groups of one sample
COUNTS = np.array([[500, 30, 5, 0],
                   [2, 200, 100, 20],
                   [1, 1, 1, 300]])
PER_CLASS = 64
N_BATCHES = 400


def make_labels(counts: np.ndarray = COUNTS, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Shuffled y, a with exactly ``counts[y, a]`` samples per group."""
    y = np.concatenate([np.full(n, yy) for (yy, _), n in np.ndenumerate(counts)])
    a = np.concatenate([np.full(n, aa) for (_, aa), n in np.ndenumerate(counts)])
    perm = np.random.default_rng(seed).permutation(len(y))
    return torch.as_tensor(y[perm], dtype=torch.int64), torch.as_tensor(a[perm], dtype=torch.int64)


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor, GroupSampler]:
    y, a = make_labels()
    return y, a, GroupSampler(y, a, K, A)


def draw_many(sampler: GroupSampler, p: np.ndarray, seed: int, n_batches: int = N_BATCHES) -> torch.Tensor:
    probs = sampler.probabilities(p)
    g = torch.Generator().manual_seed(seed)
    return torch.stack([sampler.draw(probs, PER_CLASS, g) for _ in range(n_batches)])


def test_counts_and_alpha(data) -> None:
    _, _, sampler = data
    np.testing.assert_array_equal(sampler.counts, COUNTS)
    np.testing.assert_allclose(sampler.alpha, COUNTS / COUNTS.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("c", [0.5, 1.0])
def test_batches_are_class_balanced(data, c: float) -> None:
    y, _, sampler = data
    idx = draw_many(sampler, p_lb(sampler.alpha, c), seed=1, n_batches=50)
    assert idx.shape == (50, K * PER_CLASS)
    for batch in idx:
        np.testing.assert_array_equal(torch.bincount(y[batch], minlength=K).numpy(), [PER_CLASS] * K)
        # the batch is laid out class by class: row block k holds class k only
        np.testing.assert_array_equal(y[batch].reshape(K, PER_CLASS).numpy(),
                                      np.repeat(np.arange(K)[:, None], PER_CLASS, axis=1))


@pytest.mark.parametrize("c", [0.5, 1.0])
def test_group_frequencies_follow_p_lb(data, c: float) -> None:
    y, a, sampler = data
    p = p_lb(sampler.alpha, c)
    idx = draw_many(sampler, p, seed=2).reshape(-1)
    n_per_class = N_BATCHES * PER_CLASS
    freq = np.zeros((K, A))
    np.add.at(freq, (y[idx].numpy(), a[idx].numpy()), 1.0)
    assert (freq.sum(axis=1) == n_per_class).all()
    freq /= n_per_class
    se = np.sqrt(p * (1 - p) / n_per_class)
    # 4 standard errors of a binomial proportion (plus a hair for p near 0 or 1)
    assert (np.abs(freq - p) <= 4 * se + 1e-9).all(), f"empirical {freq}\nexpected {p}"
    # an empty group is never drawn
    assert freq[0, 3] == 0.0


def test_biased_distribution_matches_alpha(data) -> None:
    y, a, sampler = data
    p = sampler.alpha
    idx = draw_many(sampler, p, seed=3).reshape(-1)
    n_per_class = N_BATCHES * PER_CLASS
    freq = np.zeros((K, A))
    np.add.at(freq, (y[idx].numpy(), a[idx].numpy()), 1.0)
    freq /= n_per_class
    se = np.sqrt(p * (1 - p) / n_per_class)
    assert (np.abs(freq - p) <= 4 * se + 1e-9).all()
    # a distinguishable check: p_lb(c=1) is far from alpha, so the sampler really uses p
    assert np.abs(freq - p_lb(p, 1.0)).max() > 0.2


def test_uniform_within_group(data) -> None:
    y, a, sampler = data
    # all mass on one group per class; inside it every member should be drawn equally often
    p = np.zeros((K, A))
    p[0, 1] = 1.0  # class 0: group 1 (30 samples)
    p[1, 3] = 1.0  # class 1: group 3 (20 samples)
    p[2, 0] = 1.0  # class 2: group 0 (1 sample)
    idx = draw_many(sampler, p, seed=4, n_batches=300).reshape(-1)
    yy, aa = y[idx], a[idx]
    for cls, grp, size in [(0, 1, 30), (1, 3, 20), (2, 0, 1)]:
        drawn = idx[yy == cls]
        assert bool((aa[yy == cls] == grp).all())
        members = torch.nonzero((y == cls) & (a == grp)).flatten()
        assert members.numel() == size
        hits = torch.bincount(drawn, minlength=len(y))[members].double().numpy()
        n = hits.sum()
        assert n == 300 * PER_CLASS
        q = 1.0 / size
        se = np.sqrt(q * (1 - q) / n)
        assert (hits > 0).all()  # every member is reachable
        assert (np.abs(hits / n - q) <= 4.5 * se + 1e-12).all()
        # nothing outside the group
        assert set(torch.unique(drawn).tolist()) <= set(members.tolist())


def test_same_seed_same_indices(data) -> None:
    _, _, sampler = data
    p = p_lb(sampler.alpha, 0.5)
    a1 = draw_many(sampler, p, seed=7, n_batches=5)
    a2 = draw_many(sampler, p, seed=7, n_batches=5)
    a3 = draw_many(sampler, p, seed=8, n_batches=5)
    assert torch.equal(a1, a2)
    assert not torch.equal(a1, a3)


def test_probabilities_refuses_empty_group(data) -> None:
    _, _, sampler = data
    p = np.full((K, A), 0.25)  # gives mass to the empty group (0, 3)
    with pytest.raises(ValueError, match="empty group"):
        sampler.probabilities(p)
    with pytest.raises(ValueError):
        sampler.probabilities(np.full((K, A + 1), 0.2))
    ok = sampler.probabilities(p_lb(sampler.alpha, 1.0))
    assert ok.shape == (K, A) and float(ok[0, 3]) == 0.0


def test_mismatched_inputs_rejected() -> None:
    y, a = make_labels()
    with pytest.raises(ValueError):
        GroupSampler(y, a[:-1], K, A)
    with pytest.raises(ValueError):
        GroupSampler(y.reshape(1, -1), a.reshape(1, -1), K, A)
