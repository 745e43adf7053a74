"""SW, the sampling-plus-weighting ablation of Appendix B: one less-biased batch (p_lb, Eq. 4) whose samples are
weighted to give the distribution GERNE's extrapolation simulates (p_ext, Eq. 8): w_ya = p_ext(a|y) / p_lb(a|y).

In expectation L_sw = (1/K)·Σ_(y,a) p_ext(a|y)·L_g, GERNE's L_ext (Eq. 10); with two attribute values and no
conflicting samples in the biased batch it is the paper's w·L_A + (1 − w)·L_C, w = (2 − c(1 + β))/2. The
variance differs: GERNE differences two batches. With ``probe_gerne`` every step also draws GERNE's two batches
(same c, β) and scores L_ext on the same parameters without a backward pass, so the loss table holds both
estimators and their squares at each step (variance per evaluation interval = mean of squares − square of mean).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from gerne.core.objective import extrapolated_loss
from gerne.core.sampler import GroupSampler
from gerne.core.shares import check_beta, p_ext, p_lb, validate_c
from gerne.data.contract import Split
from gerne.methods.base import BETA_RANGE, C_RANGE, Declared, Range
from gerne.methods.batches import gather, group_ids, per_sample_ce
from gerne.methods.gerne import resolve_beta, shares_of
from gerne.train.stack import ModelStack


class SamplingWeighting(Declared):
    """Less-biased batches of ``batch_size`` per class, loss = mean_i w_{g(i)}·CE_i with w = p_ext / p_lb."""

    name: ClassVar[str] = "sw"
    stackable: ClassVar[bool] = True
    batch_units: ClassVar[tuple[str, ...]] = ("class",)
    options: ClassVar[dict[str, Range]] = {"c": C_RANGE, "beta": BETA_RANGE}
    uses_beta: ClassVar[bool] = True

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """GERNE's c and β (resolved as for GERNE), B per class."""
        return {"c": cfg["c"], "beta": resolve_beta(cfg, shares_of(train)), "batch_size": protocol.batch_size}

    def __init__(self, c: float, beta: float, batch_size: int, probe_gerne: bool = True) -> None:
        self.c, self.beta = validate_c(c), float(beta)
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size, self.probe_gerne = int(batch_size), bool(probe_gerne)

    def setup(self, train: Split, what: str = "training data") -> None:
        """The sampler, β checked against Eq. 9 (p_ext must be a distribution) and the per-sample weights."""
        self.sampler = GroupSampler(train.y, train.a, train.num_classes, train.num_attributes)
        alpha = self.sampler.alpha
        check_beta(alpha, self.c, self.beta, what=what)
        lb, ext = p_lb(alpha, self.c), p_ext(alpha, self.c, self.beta)
        ratio = torch.as_tensor(ext / (lb + (lb == 0)) * (lb > 0), dtype=torch.float32, device=train.y.device)
        self.weights = ratio.reshape(-1)[group_ids(train)]
        self.p_b, self.p_lb = self.sampler.probabilities(alpha), self.sampler.probabilities(lb)
        self.x, self.y = train.x, train.y
        self.samples_per_batch = self.batch_size * train.num_classes

    @classmethod
    def stacked(cls, methods: list[SamplingWeighting]) -> SwStep:
        return SwStep(methods)


class SwStep:
    """R runs' step. Loss table: unweighted L_lb, L_sw², then (probe) GERNE's L_ext and L_ext², and L_sw last."""

    def __init__(self, methods: list[SamplingWeighting]) -> None:
        self.methods = methods
        self.weights = torch.stack([m.weights for m in methods])
        self.probe = any(m.probe_gerne for m in methods)
        self.beta = torch.tensor([m.beta for m in methods], device=self.weights.device)
        self.loss_names = ("loss_lb", "loss_sw_sq", *(("loss_ext", "loss_ext_sq") if self.probe else ()), "loss_sw")

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        ms, n = self.methods, self.methods[0].batch_size
        idx = torch.stack([m.sampler.draw(m.p_lb, n, g) for m, g in zip(ms, generators, strict=True)])
        x, y = gather(ms[0].x, ms[0].y, idx)
        ce = per_sample_ce(stack, x, y)
        loss = (self.weights.gather(1, idx) * ce).mean(1)
        columns = [ce.mean(1), loss**2]
        if self.probe:
            columns += list(self.gerne_probe(stack, generators))
        table = torch.stack([*columns, loss], 1).detach()
        return loss.sum(), table

    @torch.no_grad()
    def gerne_probe(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """GERNE's L_ext (Eq. 5) on its own biased and less-biased batches at the current parameters, and its square."""
        ms, n = self.methods, self.methods[0].batch_size
        idx = torch.stack([torch.cat([m.sampler.draw(m.p_b, n, g), m.sampler.draw(m.p_lb, n, g)])
                           for m, g in zip(ms, generators, strict=True)])
        x, y = gather(ms[0].x, ms[0].y, idx)
        halves = per_sample_ce(stack, x, y).view(len(ms), 2, -1).mean(2)
        ext = extrapolated_loss(halves[:, 1], halves[:, 0], self.beta)
        return ext, ext**2
