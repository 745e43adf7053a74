"""Plain ERM with natural sampling: each step draws ``batch_size`` training samples uniformly at random (i.i.d.,
with replacement) and minimises their mean cross-entropy. No groups, no class balancing: the vanilla baseline of
the paper's ERM row (LfF/DFA's "Vanilla"). Class-balanced ERM is GERNE with c = 1, β = −1 (``gerne.methods.gerne``).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from gerne.data.contract import Split
from gerne.methods.base import Declared
from gerne.methods.batches import gather
from gerne.train.stack import ModelStack


class Erm(Declared):
    """Uniform i.i.d. batches of ``batch_size`` samples (per run), mean cross-entropy."""

    name: ClassVar[str] = "erm"
    stackable: ClassVar[bool] = True

    def __init__(self, batch_size: int) -> None:
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = int(batch_size)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Keep the training tensors; any split works (attributes are not used)."""
        if len(train) == 0:
            raise ValueError(f"the {what} is empty")
        self.x, self.y = train.x, train.y
        self.samples_per_batch = self.batch_size

    @classmethod
    def stacked(cls, methods: list[Erm]) -> ErmStep:
        return ErmStep(methods)


class ErmStep:
    """R runs' ERM step: each run's batch from its own generator, Σ_r mean CE_r and the ``[R, 1]`` loss table."""

    loss_names = ("loss",)

    def __init__(self, methods: list[Erm]) -> None:
        self.methods = methods
        self.x, self.y = methods[0].x, methods[0].y
        self.n = methods[0].batch_size
        if any(m.batch_size != self.n for m in methods):
            raise ValueError("stacked ERM runs need the same batch_size")

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.loss(stack, *self.batch(generators))

    def batch(self, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each run's ``n`` uniform draws from the training set: images ``[R, n, ...]`` and labels ``[R, n]``."""
        idx = torch.stack([torch.randint(len(self.y), (self.n,), generator=g, device=self.y.device)
                           for g in generators])
        return gather(self.x, self.y, idx)

    def loss(self, stack: ModelStack, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Σ_r mean cross-entropy of run r's batch, and the detached ``[R, 1]`` table."""
        logits = stack.forward(x)
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape)
        loss = ce.mean(1)
        return loss.sum(), loss.detach()[:, None]
