"""JTT, Just Train Twice (Liu et al., 2021; anniesch/jtt): retrain with the error set of a first, ERM-trained model
upsampled λ_up times. The error set arrives as the training split's attribute (grouping ``errors``: ã = 0 for the
samples the reference model f̃ gets wrong); each step draws ``batch_size`` samples with replacement, an error-set
sample ``up`` times as likely as any other, and minimises their mean cross-entropy."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from gerne.data.contract import Split
from gerne.errors import ConfigError
from gerne.methods.base import Declared, Range, uniform_batch
from gerne.methods.batches import gather, per_sample_ce
from gerne.train.stack import ModelStack


class Jtt(Declared):
    """Upsampled batches of ``batch_size``: P(i) ∝ ``up`` on the error set (ã = 0), ∝ 1 elsewhere."""

    name: ClassVar[str] = "jtt"
    stackable: ClassVar[bool] = True
    options: ClassVar[dict[str, Range]] = {"up": Range(lambda v: v >= 1.0, "at least 1 (JTT's upsampling factor)")}

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """ERM's batch size and the upsampling factor ``up`` of the row's config or search (no default: the
        source tunes it per dataset)."""
        if "up" not in cfg:
            raise ConfigError("a jtt row needs its upsampling factor: config {up: 20.0} or a search over up")
        return {"batch_size": uniform_batch(protocol, train), "up": cfg["up"]}

    def __init__(self, batch_size: int, up: float) -> None:
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not float(up) >= 1.0:
            raise ValueError(f"JTT's upsampling factor up (λ_up) must be at least 1, got {up}")
        self.batch_size, self.up = int(batch_size), float(up)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Sampling weights from the error set (two attribute values: 0 = error set, 1 = the rest)."""
        if train.num_attributes != 2:
            raise ValueError(f"JTT trains on an error set (groups: errors), got {train.num_attributes} attribute "
                             f"values in the {what}")
        errors = train.a == 0
        self.error_share = float(errors.float().mean())
        self.weights = torch.where(errors, self.up, 1.0).float()
        self.x, self.y, self.errors = train.x, train.y, errors
        self.samples_per_batch = self.batch_size

    @classmethod
    def stacked(cls, methods: list[Jtt]) -> JttStep:
        return JttStep(methods)


class JttStep:
    """R runs' step. Loss table: the error set's share of the batch and the mean CE."""

    loss_names = ("error_share", "loss")

    def __init__(self, methods: list[Jtt]) -> None:
        self.methods, self.n = methods, methods[0].batch_size
        if any(m.batch_size != self.n for m in methods):
            raise ValueError("stacked runs need the same batch_size")

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.stack([torch.multinomial(m.weights, self.n, replacement=True, generator=g)
                           for m, g in zip(self.methods, generators, strict=True)])
        x, y = gather(self.methods[0].x, self.methods[0].y, idx)
        loss = per_sample_ce(stack, x, y).mean(1)
        share = torch.stack([m.errors[i].float().mean() for m, i in zip(self.methods, idx, strict=True)])
        return loss.sum(), torch.stack([share, loss.detach()], 1)
