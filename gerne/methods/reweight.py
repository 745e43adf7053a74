"""ReWeight and SqrtReWeight: ERM's uniform batches with every sample's loss weighted by its group's size to the
power −p (p = 1: w_g ∝ 1/n_g, an unbiased estimate of the group-balanced risk; p = ½: w_g ∝ 1/√n_g). Weights are
normalised to mean 1 over the training set, so the loss has ERM's scale. The groups are the split's (y, a)."""

from __future__ import annotations

from typing import ClassVar

import torch

from gerne.data.contract import Split
from gerne.methods.base import Declared
from gerne.methods.batches import gather, group_ids, group_sizes, per_sample_ce, uniform_indices
from gerne.train.stack import ModelStack


class Reweight(Declared):
    """Uniform batches of ``batch_size`` samples, loss = mean_i w_{g(i)}·CE_i with w_g ∝ n_g^(−power)."""

    name: ClassVar[str] = "reweight"
    stackable: ClassVar[bool] = True
    power: ClassVar[float] = 1.0

    def __init__(self, batch_size: int) -> None:
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = int(batch_size)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Per-sample weights from the group sizes of ``train``."""
        if len(train) == 0:
            raise ValueError(f"the {what} is empty")
        self.group_weights = group_weights(group_sizes(train), self.power)
        self.weights = self.group_weights[group_ids(train)].float()
        self.x, self.y = train.x, train.y
        self.samples_per_batch = self.batch_size

    @classmethod
    def stacked(cls, methods: list[Reweight]) -> ReweightStep:
        return ReweightStep(methods)


class SqrtReweight(Reweight):
    """As :class:`Reweight` with w_g ∝ 1/√n_g."""

    name: ClassVar[str] = "sqrt_reweight"
    power: ClassVar[float] = 0.5


def group_weights(sizes: torch.Tensor, power: float) -> torch.Tensor:
    """w_g = n_g^(−power) scaled so that Σ_g n_g·w_g = N (mean weight 1 over the samples); 0 for empty groups."""
    w = torch.where(sizes > 0, sizes.clamp(min=1.0) ** -power, torch.zeros_like(sizes))
    return w * sizes.sum() / (sizes * w).sum()


class ReweightStep:
    """R runs' step: each run's uniform batch, Σ_r mean_i w_i·CE_i, and the ``[R, 2]`` table (plain CE, weighted)."""

    loss_names = ("loss_ce", "loss")

    def __init__(self, methods: list[Reweight]) -> None:
        first = methods[0]
        if any(m.batch_size != first.batch_size for m in methods):
            raise ValueError("stacked runs need the same batch_size")
        self.x, self.y, self.n = first.x, first.y, first.batch_size
        self.weights = torch.stack([m.weights for m in methods])  # [R, N]: each run's own groups

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = uniform_indices(len(self.y), self.n, generators, self.y.device)
        x, y = gather(self.x, self.y, idx)
        ce = per_sample_ce(stack, x, y)
        loss = (self.weights.gather(1, idx) * ce).mean(1)
        return loss.sum(), torch.stack([ce.mean(1), loss], 1).detach()
