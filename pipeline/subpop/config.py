"""The ``subpop`` section of params.yaml: which Datasets-2 benchmarks run, their protocol and the search.

Validated with the rest of params.yaml (strict keys, ranges). Defaults are the paper's values (Appendix F,
METHOD.md) and SubpopBench's budgets (BENCHMARKS.md); values the paper does not state are marked as ours.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gerne.device import DeviceName

DATASETS = ("waterbirds", "celeba", "civilcomments")
SETTINGS = ("yes_yes", "no_yes", "no_no")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Protocol(_Strict):
    """Training protocol of one dataset and the paper's hyper-parameters (search config 0)."""

    model: Literal["resnet50", "resnet18", "bert"]
    model_options: dict[str, Any] = Field(default_factory=dict, description="e.g. pretrained: false, dropout")
    prepare: dict[str, Any] = Field(default_factory=dict, description="image_size, or tokenizer and max_length")
    steps: int = Field(gt=0, description="training steps (SubpopBench: 5,001 Waterbirds, 30,001 the others)")
    eval_every: int = Field(gt=0, description="steps between full val + test evaluations")
    optimizer: Literal["sgd", "adamw"] = "sgd"
    schedule: Literal["constant", "linear"] = "constant"
    clip_norm: float | None = Field(None, gt=0.0)
    lr: float = Field(gt=0.0)
    weight_decay: float = Field(ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    batch_size: int = Field(gt=0, description="B per class (batch_unit: class) or per group")
    batch_unit: Literal["class", "group"] = "class"
    pseudo_batch_size: int | None = Field(None, gt=0, description="B per pseudo-group (CivilComments: 16)")
    c: float = Field(gt=0.0, le=1.0)
    beta: float | None = Field(None, description="config 0's β; null = 1/c − 1 (ours: the paper does not say)")
    t: float = Field(0.1, gt=0.0, le=0.5, description="config 0's pseudo-minority share (ours)")
    eval_batch_size: int = Field(256, gt=0)
    precision: Literal["fp32", "bf16"] = "bf16"
    mirror: str = Field("", description="directory holding the release files ('' = download)")
    expected_counts: dict[str, dict[str, int]] | None = Field(
        None, description="group counts to assert after preparation; null = the published counts")

    @model_validator(mode="after")
    def _budget(self) -> Protocol:
        if self.eval_every > self.steps:
            raise ValueError(f"eval_every ({self.eval_every}) exceeds steps ({self.steps})")
        return self

    def config0_beta(self) -> float:
        """β of search config 0: the given value, else 1/c − 1 (where the rarest group starts to dominate)."""
        return self.beta if self.beta is not None else 1.0 / self.c - 1.0


class SearchParams(_Strict):
    """SubpopBench's search: ``configs`` draws (config 0 = paper values) with ``seed``, winner with every seed."""

    configs: int = Field(16, ge=1)
    seed: int = Field(0, ge=0)
    lr_spread: float = Field(0.5, ge=0.0, description="lr = paper lr × 10^U(−spread, spread)")
    c: list[float] = Field(default_factory=lambda: [0.5, 1.0])
    t: list[float] = Field(default_factory=lambda: [0.01, 0.5], description="t ~ U(low, high), t ∈ (0, 1/2]")
    dropout: list[float] = Field(default_factory=lambda: [0.0, 0.1, 0.5], description="text models only")

    @field_validator("t")
    @classmethod
    def _t_range(cls, v: list[float]) -> list[float]:
        if len(v) != 2 or not (0.0 < v[0] <= v[1] <= 0.5):
            raise ValueError(f"search.t is [low, high] with 0 < low <= high <= 0.5, got {v}")
        return v


class BiasedParams2(_Strict):
    """The biased model f̃ for pseudo-attributes: class-balanced ERM, lr ×0.1, wd ×2 (Appendix F)."""

    lr_factor: float = Field(1.0e-1, gt=0.0)
    weight_decay_factor: float = Field(2.0, ge=0.0)
    seed: int = Field(0, ge=0)


class Table3Params(_Strict):
    """Appendix G: CelebA trained on its validation split only (full, and ``folds``-fold cross-validation)."""

    datasets: list[Literal["celeba"]] = Field(default_factory=list, description="[celeba] to run Table 3")
    folds: int = Field(3, ge=2)


class SubpopParams(_Strict):
    datasets: list[Literal["waterbirds", "celeba", "civilcomments"]] = Field(
        default_factory=list, description="benchmarks to run; [] = off (they need a GPU and the internet)")
    settings: list[Literal["yes_yes", "no_yes", "no_no"]] = Field(default_factory=lambda: list(SETTINGS))
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    device: DeviceName = "auto"
    search: SearchParams = SearchParams()
    biased: BiasedParams2 = BiasedParams2()
    table3: Table3Params = Table3Params()
    protocol: dict[str, Protocol]

    @model_validator(mode="after")
    def _protocols(self) -> SubpopParams:
        missing = [d for d in self.datasets if d not in self.protocol]
        if missing:
            raise ValueError(f"subpop.datasets lists {missing} without a subpop.protocol entry")
        unknown = sorted(set(self.protocol) - set(DATASETS))
        if unknown:
            raise ValueError(f"subpop.protocol has unknown datasets {unknown}; known: {list(DATASETS)}")
        off = [d for d in self.table3.datasets if d not in self.datasets]
        if off:
            raise ValueError(f"subpop.table3.datasets lists {off}, which is not in subpop.datasets; add it there")
        if len(set(self.seeds)) != len(self.seeds) or any(s < 0 for s in self.seeds):
            raise ValueError(f"subpop.seeds must be distinct non-negative integers, got {self.seeds}")
        return self
