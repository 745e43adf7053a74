"""The small sections of ``studies`` in params.yaml: the random search (``studies.search``) and the reference
model f̃ (``studies.reference``), validated with the rest of params.yaml (``pipeline.studies.config``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from pipeline.schema import Count, Index, NonNegativeReal, PositiveReal, Real
from pipeline.schema import Strict as _Strict
from pipeline.studies.fields import check_value


class SearchParams(_Strict):
    """SubpopBench's search: ``configs`` draws (config 0 = paper values) with ``seed``, winner with every seed."""

    configs: Count = 16
    seed: Index = 0
    lr_spread: NonNegativeReal = Field(0.5, description="lr = paper lr × 10^U(−spread, spread)")
    c: list[Real] = Field(default_factory=lambda: [0.5, 1.0], min_length=1, description="c ~ U(c), c ∈ (0, 1]")
    t: list[Real] = Field(default_factory=lambda: [0.01, 0.5], description="t ~ U(low, high), t ∈ (0, 1/2]")
    dropout: list[Real] = Field(default_factory=lambda: [0.0, 0.1, 0.5], min_length=1,
                                description="text models only, each in [0, 1)")

    @field_validator("c", "dropout")
    @classmethod
    def _choices(cls, v: list[float], info: Any) -> list[float]:
        for value in v:
            check_value("each", info.field_name, value)
        return v

    @field_validator("t")
    @classmethod
    def _t_range(cls, v: list[float]) -> list[float]:
        if len(v) != 2 or not (0.0 < v[0] <= v[1] <= 0.5):
            raise ValueError(f"search.t is [low, high] with 0 < low <= high <= 0.5, got {v}")
        return v


class ReferenceParams(_Strict):
    """The biased reference model f̃ for pseudo-attributes: class-balanced ERM, lr ×0.1, wd ×2 (Appendix F)."""

    lr_factor: PositiveReal = 1.0e-1
    weight_decay_factor: NonNegativeReal = 2.0
    seed: Index = 0
