"""LfF: the relative-difficulty weights rise on the bias-conflicting samples, the loss averages follow LfF's EMA,
both models learn (the biased one by GCE inside the step), and stacked runs keep their own loss averages."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gerne.data.contract import Split
from gerne.errors import ConfigError
from gerne.methods.lff import Lff
from gerne.train.optimizers import build_optimizer
from gerne.train.stack import ModelStack


def _biased_split(n: int = 2000, conflicting: float = 0.05, seed: int = 0) -> Split:
    """Two classes; a loud bias feature (= y on 95 %) and a faint, noisy label feature: the easy rule is the bias."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    a = torch.where(torch.rand(n, generator=g) < conflicting, 1 - y, y)
    x = torch.cat([4.0 * nn.functional.one_hot(a, 2).float(),
                   0.5 * nn.functional.one_hot(y, 2).float() + 0.3 * torch.randn(n, 2, generator=g)], 1)
    return Split(x, y, a, 2, 2)


def test_weights_rise_on_conflicting_samples() -> None:
    split = _biased_split()
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    method = Lff(batch_size=128, optimizer="sgd", lr=0.5, momentum=0.0)
    method.setup(split)
    step, stack = Lff.stacked([method]), ModelStack([model])
    opt = build_optimizer("sgd", model.parameters(), lr=0.5, weight_decay=0.0, momentum=0.0, total_steps=1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        loss, _ = step(stack, [gen])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seen = step.visited[0]
    every = torch.arange(len(split))
    weight = step.relative_difficulty(every[seen][None], split.y[seen][None], step.ema["b"][:, seen],
                                      step.ema["d"][:, seen])[0]
    conflicting = (split.a != split.y)[seen]
    assert float(weight[conflicting].mean()) > 0.6 > 0.4 > float(weight[~conflicting].mean())
    with torch.no_grad():  # the biased model follows the bias: it fails the conflicting samples
        wrong = step.biased.forward(split.x[None])[0].argmax(1) != split.y
    conflicting = split.a != split.y
    assert float(wrong[conflicting].float().mean()) > 0.9 and float(wrong[~conflicting].float().mean()) < 0.1


def test_loss_average_takes_the_first_visit_then_an_ema() -> None:
    method = Lff(batch_size=2, optimizer="sgd", lr=0.1, ema=0.7)
    method.setup(_biased_split(n=4))
    step = Lff.stacked([method])
    idx, y = torch.tensor([[0, 1]]), method.y[None, :2]
    step.relative_difficulty(idx, y, torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))
    assert step.ema["b"][0, :2].tolist() == [1.0, 2.0]
    step.relative_difficulty(idx, y, torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]))
    assert step.ema["b"][0, :2].tolist() == pytest.approx([0.7, 1.4])


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="q in"):
        Lff(batch_size=2, optimizer="sgd", lr=0.1, q=0.0)
    with pytest.raises(ConfigError, match="unknown optimizer 'sgdd'"):
        Lff(batch_size=2, optimizer="sgdd", lr=0.1)
    method = Lff(batch_size=2, optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match="same batch_size, q, ema and optimizer"):
        Lff.stacked([method, Lff(batch_size=2, optimizer="sgd", lr=0.1, q=0.5)])


def test_stacked_runs_keep_their_own_loss_averages_and_class_maxima() -> None:
    """Two stacked runs: each run's averages move only at its own draws and are normalised by its own class
    maximum (a scatter maximum per run, not over the stack)."""
    method = Lff(batch_size=2, optimizer="sgd", lr=0.1)
    method.setup(_biased_split(n=4))
    step = Lff.stacked([method, method])
    idx = torch.tensor([[0, 2], [2, 1]])  # samples 0 and 2 are of class 0, sample 1 of class 1
    w = step.relative_difficulty(idx, method.y[idx], torch.tensor([[1.0, 4.0], [8.0, 2.0]]),
                                 torch.tensor([[1.0, 1.0]] * 2))
    assert step.ema["b"].tolist() == [[1.0, 0.0, 4.0, 0.0], [0.0, 2.0, 8.0, 0.0]]
    assert step.visited.tolist() == [[True, False, True, False], [False, True, True, False]]
    # run 0's class-0 maxima are its own (L̂_b 4, L̂_d 1), not run 1's 8: W = (1/4) / (1/4 + 1) and 1 / (1 + 1)
    assert w[0].tolist() == pytest.approx([0.2, 0.5], abs=1e-6)
    assert w[1].tolist() == pytest.approx([0.5, 0.5], abs=1e-6)
