"""Tiny synthetic splits with known group sizes, and a fixed model whose loss depends only on the group."""

from __future__ import annotations

import torch
from torch import nn

from gerne.data.contract import Split
from gerne.train.stack import ModelStack


def grouped_split(sizes: list[list[int]]) -> Split:
    """K×A groups of the given sizes; x is the one-hot group id (float), so a linear model scores each group alone."""
    K, A = len(sizes), len(sizes[0])
    y = torch.cat([torch.full((n,), k) for k, row in enumerate(sizes) for n in row])
    a = torch.cat([torch.full((n,), j) for row in sizes for j, n in enumerate(row)])
    x = nn.functional.one_hot(y * A + a, K * A).float()
    return Split(x, y, a, K, A)


def fixed_model(split: Split, margins: list[list[float]]) -> ModelStack:
    """A linear model giving group (y, a) the logit ``margins[y][a]`` for its true class and 0 for the others:
    its CE falls as the margin rises, so a small margin marks a hard group. No training: a fixed loss per group."""
    K, A = split.num_classes, split.num_attributes
    model = nn.Linear(K * A, K, bias=False)
    with torch.no_grad():
        model.weight.zero_()
        for k in range(K):
            for j in range(A):
                model.weight[k, k * A + j] = margins[k][j]
    return ModelStack([model])


def group_ce(margin: float, num_classes: int) -> float:
    """CE of a sample whose true logit is ``margin`` and the other K − 1 logits are 0."""
    return float(torch.logsumexp(torch.tensor([margin] + [0.0] * (num_classes - 1)), 0) - margin)
