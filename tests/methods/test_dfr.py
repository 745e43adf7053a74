"""DFR: the balanced subsets hold the smallest group's size of every group, the refit last layer ignores a spurious
feature that a fit on the natural data leans on, only the last layer changes, and a holdout without some group is
refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from gerne.data.contract import Split
from gerne.methods.dfr import Dfr, balanced_logistic, balanced_subset
from gerne.train.loop import LoopConfig, fit_stack


def test_balanced_subset_takes_the_smallest_group_size_from_every_group() -> None:
    gid = np.array([0] * 5 + [1] * 2 + [2] * 9)
    idx = balanced_subset(gid, np.random.default_rng(0))
    assert np.bincount(gid[idx]).tolist() == [2, 2, 2] and len(set(idx.tolist())) == 6
    again = balanced_subset(gid, np.random.default_rng(0))
    assert np.array_equal(idx, again)  # seeded
    assert not np.array_equal(idx, balanced_subset(gid, np.random.default_rng(1)))


def spurious(n: int, aligned: float, seed: int) -> Split:
    """Two classes, two attributes; feature 0 is the label with noise (weak), feature 1 the attribute (sharp)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(2, (n,), generator=g)
    a = torch.where(torch.rand(n, generator=g) < aligned, y, 1 - y)
    x = torch.stack([y + 0.6 * torch.randn(n, generator=g), a + 0.05 * torch.randn(n, generator=g)], 1)
    return Split(x, y, a, 2, 2)


def head_model() -> nn.Module:
    """Features = the inputs themselves: the last (only) linear layer is the head DFR refits."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(2, 2))


def conflicting_accuracy(weight: torch.Tensor, bias: torch.Tensor, split: Split) -> float:
    pred = (split.x @ weight.T + bias).argmax(1)
    mask = split.y != split.a
    return float((pred[mask] == split.y[mask]).float().mean())


def test_balanced_refit_ignores_the_spurious_feature() -> None:
    train, test = spurious(4000, 0.97, 0), spurious(2000, 0.5, 1)
    weight, bias = balanced_logistic(train.x, train, C=1.0, subsets=5, seed=0, max_iter=1000, what="train")
    margin = weight[1] - weight[0]  # the logit difference's weight on (core, spurious)
    assert abs(float(margin[0])) > 2 * abs(float(margin[1]))
    natural = LogisticRegression(C=1.0, max_iter=1000).fit(train.x.numpy(), train.y.numpy())
    w = torch.from_numpy(np.concatenate([-natural.coef_, natural.coef_]) / 2).float()
    b = torch.from_numpy(np.concatenate([-natural.intercept_, natural.intercept_]) / 2).float()
    assert conflicting_accuracy(weight, bias, test) > 0.75 > 0.5 > conflicting_accuracy(w, b, test)


def test_subsets_fitted_in_parallel_give_the_serial_weights_bit_for_bit() -> None:
    train = spurious(1500, 0.95, 0)
    serial = balanced_logistic(train.x, train, C=0.5, subsets=4, seed=3, max_iter=200, what="train", workers=1)
    parallel = balanced_logistic(train.x, train, C=0.5, subsets=4, seed=3, max_iter=200, what="train", workers=2)
    assert all(torch.equal(a, b) for a, b in zip(serial, parallel, strict=True))
    other = balanced_logistic(train.x, train, C=0.5, subsets=4, seed=4, max_iter=200, what="train", workers=2)
    assert not torch.equal(serial[0], other[0])  # the seed draws other subsets


def test_fit_changes_only_the_last_layer_of_the_reference() -> None:
    train = spurious(1000, 0.95, 0)
    reference = nn.Sequential(nn.Flatten(), nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    method = Dfr(reference=state, C=0.5, subsets=2)
    method.setup(train)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))  # another initialisation
    seen: list[int] = []
    (result,) = fit_stack([model], [method], {"train": train, "val": train, "test": spurious(500, 0.5, 1)},
                          [LoopConfig(epochs=1, lr=0.1)], [lambda epoch, _m: seen.append(epoch)])
    after = model.state_dict()
    assert torch.equal(after["1.weight"], state["1.weight"]) and torch.equal(after["1.bias"], state["1.bias"])
    assert not torch.equal(after["3.weight"], state["3.weight"])
    assert seen == [1] and len(result.history) == 1
    assert {s["epoch"] for s in result.selections.values()} == {1} and set(result.selections) == {
        "last", "best_val", "oracle"}
    assert set(result.states) >= {"last", "best_val"}


def test_holdout_without_a_group_is_refused() -> None:
    train = spurious(400, 1.0, 0)  # no conflicting sample: groups (0, 1) and (1, 0) are empty
    with pytest.raises(ValueError, match=r"has none of groups \[1, 2\]"):
        balanced_logistic(train.x, train, C=1.0, subsets=1, seed=0, max_iter=100, what="training data")


@pytest.mark.parametrize(("options", "match"), [({"C": 0.0}, "C must be positive"),
                                                ({"C": 1.0, "subsets": 0}, "at least one balanced subset"),
                                                ({"C": 1.0, "holdout": "test"}, "holdout must be one of")])
def test_bad_options_are_refused(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Dfr(reference={"w": torch.zeros(1)}, **options)
