"""Group DRO (Sagawa et al., 2020; kohpangwei/group_DRO): minimise Σ_g q_g·L_g, where the adversarial group
weights q follow exponentiated gradient ascent, q_g ← q_g·exp(η·L_g) then q ← q / Σ q, before each step's loss
(as the reference code orders it). Batches are group-balanced (GERNE's c = 1 batch: B per class, uniform over the
class's non-empty groups), as the reference code pairs it with ``--reweight_groups``: uniform batches would almost
never hold C-MNIST's rare groups. L_g is the mean CE of group g in the batch (0 where the batch has none)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from gerne.core.sampler import GroupSampler
from gerne.core.shares import p_lb
from gerne.data.contract import Split
from gerne.methods.base import Declared, Range
from gerne.methods.batches import gather, group_ids, group_sizes, per_sample_ce
from gerne.train.stack import ModelStack


class GroupDro(Declared):
    """Group-balanced batches of ``batch_size`` per class; robust loss with step size ``eta``."""

    name: ClassVar[str] = "groupdro"
    stackable: ClassVar[bool] = True
    batch_units: ClassVar[tuple[str, ...]] = ("class",)
    options: ClassVar[dict[str, Range]] = {"eta": Range(lambda v: v > 0.0, "positive (Group DRO's step size)")}

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """Group-balanced batches of B per class and η (``eta``; the reference code's default 0.01)."""
        return {"batch_size": protocol.batch_size, "eta": cfg.get("eta", 1.0e-2)}

    def __init__(self, batch_size: int, eta: float = 1.0e-2) -> None:
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not float(eta) > 0.0:
            raise ValueError(f"eta (Group DRO's step size) must be positive, got {eta}")
        self.batch_size, self.eta = int(batch_size), float(eta)

    def setup(self, train: Split, what: str = "training data") -> None:
        """The group-uniform sampler, each sample's group and q₀ uniform over the non-empty groups."""
        if len(train) == 0:
            raise ValueError(f"the {what} is empty")
        self.sampler = GroupSampler(train.y, train.a, train.num_classes, train.num_attributes)
        self.p = self.sampler.probabilities(p_lb(self.sampler.alpha, 1.0))
        self.gid = group_ids(train)
        present = (group_sizes(train) > 0).float()
        self.q0 = present / present.sum()
        self.x, self.y = train.x, train.y
        self.samples_per_batch = self.batch_size * train.num_classes

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """Indices of one group-balanced batch."""
        return self.sampler.draw(self.p, self.batch_size, generator)

    @classmethod
    def stacked(cls, methods: list[GroupDro]) -> GroupDroStep:
        return GroupDroStep(methods)


class GroupDroStep:
    """R runs' step; each run keeps its own q (on the device, updated without a host sync). Loss table: the batch's
    mean CE, the largest group loss in it and the robust loss Σ_g q_g·L_g."""

    loss_names = ("loss_ce", "loss_worst", "loss")

    def __init__(self, methods: list[GroupDro]) -> None:
        self.methods = methods
        self.q = torch.stack([m.q0 for m in methods]).clone()  # [R, G]
        self.eta = torch.tensor([m.eta for m in methods], device=self.q.device)[:, None]
        self.gid = torch.stack([m.gid for m in methods])

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.stack([m.draw(g) for m, g in zip(self.methods, generators, strict=True)])
        x, y = gather(self.methods[0].x, self.methods[0].y, idx)
        ce = per_sample_ce(stack, x, y)
        group_loss = self.group_losses(ce, self.gid.gather(1, idx))
        self.q = self.q * torch.exp(self.eta * group_loss.detach())
        self.q = self.q / self.q.sum(1, keepdim=True)
        loss = (self.q * group_loss).sum(1)
        table = torch.stack([ce.mean(1), group_loss.max(1).values, loss], 1)
        return loss.sum(), table.detach()

    def group_losses(self, ce: torch.Tensor, gid: torch.Tensor) -> torch.Tensor:
        """``[R, G]`` mean CE per group in each run's batch, 0 for groups it does not hold."""
        ce = ce.float()
        sums = torch.zeros_like(self.q).scatter_add(1, gid, ce)
        counts = torch.zeros_like(self.q).scatter_add(1, gid, torch.ones_like(ce))
        return sums / counts.clamp(min=1.0)
