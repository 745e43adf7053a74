"""LfF, Learning from Failure (Nam et al., 2020; alinlab/LfF): a biased model trained with the generalised
cross-entropy GCE = CE·p_y^q·q (q = 0.7) beside the debiased model, whose per-sample CE is weighted by the relative
difficulty W = L̂_b / (L̂_b + L̂_d). L̂ is each sample's loss averaged over its visits (EMA, α = 0.7, the first visit
taking the loss itself) and divided by the largest such average of its class.

Two models in one run: the debiased model is the loop's; the biased one lives in the method and takes its own
optimiser step inside each step (the weights are detached, so this equals LfF's one backward over the sum). It starts
from a copy of the debiased model's initialisation (LfF draws the two independently). Uniform batches, as LfF's
shuffled loader. Stackable: R runs train R debiased models in the loop's stack and R biased ones in the method's.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from gerne.data.contract import Split
from gerne.errors import ConfigError
from gerne.methods.base import Declared, uniform_batch
from gerne.methods.batches import gather, per_sample_ce, uniform_indices
from gerne.train.optimizers import OPTIMIZERS, build_optimizer
from gerne.train.stack import ModelStack


class Lff(Declared):
    """Uniform batches of ``batch_size``; GCE exponent ``q``, EMA factor ``ema``; the biased model's optimiser."""

    name: ClassVar[str] = "lff"
    stackable: ClassVar[bool] = True  # seeds of one config: R debiased and R biased models, each set stacked

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """ERM's uniform batches; the biased model gets the protocol's optimiser (q and the EMA: LfF's 0.7)."""
        return {"batch_size": uniform_batch(protocol, train), "optimizer": protocol.optimizer, "lr": cfg["lr"],
                "weight_decay": protocol.weight_decay, "momentum": protocol.momentum}

    def __init__(self, batch_size: int, optimizer: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.9,
                 q: float = 0.7, ema: float = 0.7) -> None:
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0.0 < float(q) <= 1.0 or not 0.0 <= float(ema) < 1.0:
            raise ValueError(f"LfF needs q in (0, 1] and ema in [0, 1), got q = {q}, ema = {ema}")
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{optimizer}' for LfF's biased model (one of: {sorted(OPTIMIZERS)})")
        self.batch_size, self.q, self.ema = int(batch_size), float(q), float(ema)
        self.optimizer = {"name": optimizer, "lr": float(lr), "weight_decay": float(weight_decay),
                          "momentum": float(momentum)}

    def setup(self, train: Split, what: str = "training data") -> None:
        """Keep the training tensors; the per-sample loss averages start unvisited."""
        if len(train) == 0:
            raise ValueError(f"the {what} is empty")
        self.x, self.y, self.num_classes = train.x, train.y, train.num_classes
        self.samples_per_batch = self.batch_size

    @classmethod
    def stacked(cls, methods: list[Lff]) -> LffStep:
        return LffStep(methods)


class LffStep:
    """R runs' LfF step (seeds of one config: R debiased models in the loop's stack, R biased models in the
    method's). Loss table per run: the biased model's CE, the mean weight W of the batch and the debiased loss."""

    loss_names = ("loss_b", "weight", "loss")

    def __init__(self, methods: list[Lff]) -> None:
        m = self.m = methods[0]
        if any((o.batch_size, o.q, o.ema, o.optimizer) != (m.batch_size, m.q, m.ema, m.optimizer) for o in methods):
            raise ValueError("stacked LfF runs need the same batch_size, q, ema and optimizer")
        n, device = len(m.y), m.y.device
        self.ema = {k: torch.zeros(len(methods), n, device=device) for k in ("b", "d")}
        self.visited = torch.zeros(len(methods), n, dtype=torch.bool, device=device)
        self.labels = m.y.expand(len(methods), n)
        self.biased: ModelStack | None = None

    def _biased(self, stack: ModelStack) -> ModelStack:
        if self.biased is None:  # called at the first step: copies of the debiased models' initialisations
            models = [copy.deepcopy(model) for model in stack.models]
            self.biased = ModelStack(models, "bf16" if stack.bf16 else "fp32")
            o = self.m.optimizer
            self.opt = build_optimizer(o["name"], self.biased.parameters(), lr=o["lr"],
                                       weight_decay=o["weight_decay"], momentum=o["momentum"], total_steps=1)
        self.biased.train(stack.models[0].training)
        return self.biased

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        m, biased = self.m, self._biased(stack)
        idx = uniform_indices(len(m.y), m.batch_size, generators, m.y.device)
        x, y = gather(m.x, m.y, idx)
        ce_d = per_sample_ce(stack, x, y)
        logits_b = biased.forward(x).float()
        ce_b = F.cross_entropy(logits_b.flatten(0, 1), y.flatten(), reduction="none").view(y.shape)
        weight = self.relative_difficulty(idx, y, ce_b.detach(), ce_d.detach().float())
        p_y = logits_b.softmax(-1).gather(-1, y[..., None])[..., 0].detach()
        self.opt.zero_grad()
        (ce_b * p_y**m.q * m.q).mean(1).sum().backward()  # GCE: the biased models learn the bias-aligned samples
        self.opt.step()
        loss = (ce_d * weight).mean(1)
        return loss.sum(), torch.stack([ce_b.detach().mean(1), weight.mean(1), loss.detach()], 1)

    @torch.no_grad()
    def relative_difficulty(self, idx: torch.Tensor, y: torch.Tensor, loss_b: torch.Tensor,
                            loss_d: torch.Tensor) -> torch.Tensor:
        """Update both loss averages of each run at its ``idx`` (``[R, n]``) and return W = L̂_b / (L̂_b + L̂_d +
        1e-8), each average divided by the largest of its class."""
        keep = torch.where(self.visited.gather(1, idx), self.m.ema, 0.0)
        scaled = []
        for key, loss in (("b", loss_b), ("d", loss_d)):
            ema = self.ema[key]
            ema.scatter_(1, idx, keep * ema.gather(1, idx) + (1.0 - keep) * loss)
            top = torch.zeros(len(idx), self.m.num_classes, device=loss.device).scatter_reduce(
                1, self.labels, ema, "amax", include_self=True)
            scaled.append(ema.gather(1, idx) / top.gather(1, y).clamp(min=1e-12))
        self.visited.scatter_(1, idx, True)
        return scaled[0] / (scaled[0] + scaled[1] + 1e-8)
