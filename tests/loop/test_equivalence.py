"""Proof that the drop-in API is GERNE: a plain loop with GerneBatchSampler + GerneLoss and the pipeline's own method
(gerne.methods.gerne), same data, model, seeds and optimiser, give the same losses step for step."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gerne.data.contract import Split
from gerne.loop import GerneBatchSampler, GerneLoss
from gerne.methods.gerne import Gerne

K, A, STEPS, SEED = 3, 2, 25, 5


def _toy() -> Split:
    """Three classes whose first input dimension is shifted by the attribute (the bias), 90 % aligned."""
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(K).repeat_interleave(100)
    a = (torch.rand(len(y), generator=gen) < 0.1).long()
    x = torch.randn(len(y), 8, generator=gen)
    x[:, 0] += 2.0 * (y + a)
    x[:, 1] += 1.5 * y
    return Split(x, y, a, K, A)


def test_the_drop_in_loop_trains_as_the_pipeline_does() -> None:
    train = _toy()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, K))
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)

    method = Gerne(c=0.5, beta=1.0, batch_size=6)  # the pipeline's GERNE step
    method.setup(train)
    generator, optimizer = torch.Generator().manual_seed(SEED), torch.optim.SGD(theirs.parameters(), lr=0.1)
    pipeline = []
    for _ in range(STEPS):
        loss, parts = method.losses(theirs, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        pipeline.append(parts)  # L_b, L_lb, L_ext

    sampler = GerneBatchSampler(train.y, train.a, batch_size=6, c=0.5, beta=1.0, seed=SEED, steps=STEPS)
    criterion, optimizer = GerneLoss(beta=1.0), torch.optim.SGD(ours.parameters(), lr=0.1)
    loop = []
    for x, y in DataLoader(TensorDataset(train.x, train.y), batch_sampler=sampler):
        loss = criterion(ours(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loop.append(torch.stack([*criterion.last, loss.detach()]))

    assert len(loop) == len(pipeline) == STEPS
    torch.testing.assert_close(torch.stack(loop), torch.stack(pipeline), rtol=1e-6, atol=1e-7)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    assert loop[-1][2] < loop[0][2]  # and it learns
