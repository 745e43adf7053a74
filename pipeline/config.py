"""The parameter schema, validated in one place (strict: unknown keys are errors, values range-checked).

``params.yaml`` is the whole experiment design; every pipeline stage loads it through :func:`load_params`, so a
misspelled key or an out-of-range value stops the first stage with a message naming the key and the fix.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from gerne.device import DeviceName
from gerne.errors import ConfigError
from pipeline.schema import ModelName, distinct_seeds
from pipeline.schema import Strict as _Strict
from pipeline.studies.config import DEFAULT_ROWS, Dataset, StudiesParams, check_studies, resolve_variants


class CMNISTParams(_Strict):
    """C-MNIST construction (BENCHMARKS.md)."""

    ratios: list[float] = Field(min_length=1, description="bias-conflicting share per class, in percent")
    color_std: float = Field(5.0e-3, ge=0.0, le=1.0, description="colour noise std (severity 4 = 0.005)")
    val_size: int = Field(5000, gt=0, lt=60000)
    seed: int = Field(0, ge=0, description="seed of the split, colour assignment and colour noise")
    mnist_mirror: str = Field("", description="directory holding the four MNIST .gz files ('' = download)")

    @field_validator("ratios")
    @classmethod
    def _ratios_in_range(cls, v: list[float]) -> list[float]:
        bad = [r for r in v if not (0.0 < r < 100.0)]
        if bad:
            raise ValueError(f"ratios are percentages in (0, 100), e.g. [0.5, 1.0, 2.0, 5.0]; got {bad}")
        if len(set(v)) != len(v):
            raise ValueError(f"ratios must be distinct, got {v}")
        return v


class ModelParams(_Strict):
    name: ModelName = Field("mlp", description="a model family of the registry (gerne.models)")
    hidden: list[int] = Field(default_factory=lambda: [100, 100, 100], min_length=1)

    @field_validator("hidden")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(w <= 0 for w in v):
            raise ValueError(f"hidden widths must be positive, got {v}")
        return v


class OptimParams(_Strict):
    """Training hyper-parameters shared by all settings (each setting may override lr / weight_decay / epochs)."""

    epochs: int = Field(gt=0)
    batch_size: int = Field(100, gt=0, description="B: samples per class (batch_unit=class) or per group")
    batch_unit: Literal["class", "group"] = "class"
    steps_per_epoch: int = Field(0, ge=0, description="0 = ceil(train size / samples per batch)")
    lr: float = Field(1.0e-1, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)
    weight_decay: float = Field(1.0e-2, ge=0.0)
    eval_train: bool = Field(True, description="also evaluate the training split each epoch (Fig. 2)")
    track_both_losses: bool = Field(True, description="log L_b and L_lb even when one has zero weight")
    device: DeviceName = Field("auto", description="auto, cpu, cuda, cuda:<n> or mps (auto = CUDA if available)")
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16 autocast for the model (GPU image models)")


class TrainParams(OptimParams):
    seeds: list[int] = Field(min_length=1)
    stack_size: int = Field(1, ge=1, description="runs (seeds, sweep points) trained together as one stacked model")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        return distinct_seeds(v, "seeds")


class BiasedParams(_Strict):
    """The biased model f̃ of Algorithm 2: class-balanced ERM with wd ×2 and lr ×0.1 (Appendix F)."""

    epochs: int = Field(gt=0)
    seed: int = Field(0, ge=0)
    lr_factor: float = Field(1.0e-1, gt=0.0)
    weight_decay_factor: float = Field(2.0, ge=0.0)


class PseudoParams(_Strict):
    """Thresholds t of Algorithm 2 (pseudo-minority share of each class), absolute or in units of the ratio."""

    thresholds: list[float] = Field(min_length=1)
    t_scale: Literal["absolute", "ratio"] = Field(
        "absolute", description="ratio: every t (here, sweep.unknown.t, settings.*.t) is a multiple of the dataset's "
        "bias-conflicting share r/100, so one grid fits every ratio")

    @field_validator("thresholds")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        bad = [t for t in v if not t > 0.0]
        if bad:
            raise ValueError(f"pseudo-attribute thresholds t must be positive, got {bad}")
        return v


class SettingParams(_Strict):
    """One row of Table 1: which attributes the method sees and its c, β (and t for pseudo-attributes)."""

    attributes: Literal["known", "pseudo", "none"]
    c: float = Field(1.0, gt=0.0, le=1.0, description="bias-reduction factor of Eq. 4")
    beta: float = Field(description="extrapolation factor of Eq. 5; checked against Eq. 9 before training")
    t: float | None = Field(None, gt=0.0, description="pseudo-minority share (attributes: pseudo; see pseudo.t_scale)")
    lr: float | None = Field(None, gt=0.0)
    weight_decay: float | None = Field(None, ge=0.0)
    epochs: int | None = Field(None, gt=0)
    eval_train: bool | None = Field(None, description="override train.eval_train for this setting (Fig. 2 runs)")

    @field_validator("beta")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("beta must be a finite number")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SettingParams:
        if self.attributes == "pseudo" and self.t is None:
            raise ValueError("attributes: pseudo needs a threshold t (one of pseudo.thresholds)")
        if self.attributes != "pseudo" and self.t is not None:
            raise ValueError("t is only used with attributes: pseudo; remove it")
        if self.attributes == "none" and self.beta != -1.0:
            raise ValueError("attributes: none leaves only the biased batch, which is beta = -1 (class-balanced "
                             "ERM); set beta: -1.0 or give the setting attributes")
        return self


class RunSettings(_Strict):
    """Settings the pipeline trains; ``unknown`` ones depend on the pseudo-attribute stage."""

    known: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)


class FiguresParams(_Strict):
    """Runs and inputs of the Fig. 2 / Fig. 3 reproductions."""

    ratio: float
    fig2_settings: list[str] = Field(min_length=1)
    beyond_bound_beta: float


class GridParams(_Strict):
    """One search grid; ``t`` only for the unknown-attribute case."""

    c: list[float] = Field(min_length=1)
    beta: list[float] = Field(min_length=1)
    t: list[float] | None = None

    @field_validator("c")
    @classmethod
    def _c_range(cls, v: list[float]) -> list[float]:
        if any(not (0.0 < c <= 1.0) for c in v):
            raise ValueError(f"c values must lie in (0, 1], got {v}")
        return v


class SweepParams(_Strict):
    """Hyper-parameter search on validation data (best val GBA), then the winner with every seed."""

    seed: int = Field(0, ge=0)
    known: GridParams
    unknown: GridParams
    base: dict[str, str] = Field(description="setting each kind copies (lr, epochs, …) before setting the point")

    @model_validator(mode="after")
    def _t_for_unknown(self) -> SweepParams:
        if not self.unknown.t:
            raise ValueError("sweep.unknown needs a t list (pseudo-attribute thresholds)")
        if self.known.t:
            raise ValueError("sweep.known takes no t (attributes are known)")
        if set(self.base) != {"known", "unknown"}:
            raise ValueError("sweep.base must name a setting for 'known' and for 'unknown'")
        return self


class Params(_Strict):
    cmnist: CMNISTParams
    model: ModelParams = ModelParams()
    train: TrainParams
    biased: BiasedParams
    pseudo: PseudoParams
    settings: dict[str, SettingParams] = Field(min_length=1)
    run_settings: RunSettings
    figures: FiguresParams | None = None
    sweep: SweepParams | None = None
    datasets: dict[str, Dataset] = Field(default_factory=dict)
    studies: StudiesParams = Field(default_factory=lambda: StudiesParams(rows=dict(DEFAULT_ROWS)))

    @field_validator("datasets", mode="before")
    @classmethod
    def _variants(cls, v: Any) -> Any:
        return resolve_variants(v)

    @model_validator(mode="after")
    def _known_settings(self) -> Params:
        check_studies(self.datasets, self.studies)
        for group in ("known", "unknown"):
            for name in getattr(self.run_settings, group):
                if name not in self.settings:
                    hint = difflib.get_close_matches(name, self.settings, n=1)
                    raise ValueError(f"run_settings.{group} names '{name}', which is not defined under settings"
                                     + (f" (did you mean '{hint[0]}'?)" if hint else
                                        f"; defined: {sorted(self.settings)}"))
                pseudo = self.settings[name].attributes == "pseudo"
                if pseudo != (group == "unknown"):
                    raise ValueError(f"run_settings.{group} lists '{name}' (attributes: "
                                     f"{self.settings[name].attributes}); settings with attributes: pseudo belong "
                                     f"under run_settings.unknown, the others under run_settings.known")
        if self.sweep is not None:
            for kind, name in self.sweep.base.items():
                if name not in self.settings:
                    raise ValueError(f"sweep.base.{kind} names '{name}', which is not defined under settings")
            bad = [t for t in self.sweep.unknown.t or [] if t not in self.pseudo.thresholds]
            if bad:
                raise ValueError(f"sweep.unknown.t values {bad} are not in pseudo.thresholds; add them there")
        if self.figures is not None:
            if self.figures.ratio not in self.cmnist.ratios:
                raise ValueError(f"figures.ratio {self.figures.ratio} is not in cmnist.ratios {self.cmnist.ratios}")
            for name in self.figures.fig2_settings:
                if name not in self.settings or self.settings[name].attributes != "known":
                    raise ValueError(f"figures.fig2_settings names '{name}', which must be a setting with "
                                     "attributes: known")
        for name, s in self.settings.items():
            if s.t is not None and s.t not in self.pseudo.thresholds:
                raise ValueError(f"settings.{name}.t = {s.t} is not in pseudo.thresholds {self.pseudo.thresholds}; "
                                 f"add it there so the pseudo stage derives it")
        for ratio in self.cmnist.ratios if self.pseudo.t_scale == "ratio" else [100.0]:
            bad = [t for t in self.pseudo.thresholds if not 0.0 < self.t_value(t, ratio) < 1.0]
            if bad:
                unit = f" × {ratio} % (pseudo.t_scale: ratio)" if self.pseudo.t_scale == "ratio" else ""
                raise ValueError(f"pseudo.thresholds {bad}{unit} give a pseudo-minority share outside (0, 1)")
        return self

    def t_value(self, t: float, ratio: float) -> float:
        """The pseudo-minority share that threshold ``t`` means at C-MNIST ``ratio`` % (see ``pseudo.t_scale``)."""
        return t if self.pseudo.t_scale == "absolute" else float(f"{t * ratio / 100.0:.12g}")

    def for_ratio(self, ratio: float) -> Params:
        """These params with every t (pseudo.thresholds, sweep.unknown.t, settings.*.t) as an absolute share at
        ``ratio`` %; what runs record and use. Idempotent: the result has ``t_scale: absolute``."""
        if self.pseudo.t_scale == "absolute":
            return self

        def absolute(ts: list[float]) -> list[float]:
            return [self.t_value(t, ratio) for t in ts]

        update: dict[str, Any] = {
            "pseudo": self.pseudo.model_copy(update={"thresholds": absolute(self.pseudo.thresholds),
                                                     "t_scale": "absolute"}),
            "settings": {k: s if s.t is None else s.model_copy(update={"t": self.t_value(s.t, ratio)})
                         for k, s in self.settings.items()},
        }
        if self.sweep is not None:
            unknown = self.sweep.unknown.model_copy(update={"t": absolute(self.sweep.unknown.t or [])})
            update["sweep"] = self.sweep.model_copy(update={"unknown": unknown})
        return self.model_copy(update=update)

    def setting(self, name: str) -> SettingParams:
        """The setting called ``name`` (ConfigError naming the defined ones otherwise)."""
        if name not in self.settings:
            raise ConfigError(f"unknown setting '{name}'; defined in params.yaml: {sorted(self.settings)}")
        return self.settings[name]

    def table_settings(self) -> dict[str, str]:
        """Rows of the Table 1 report in order, with the attributes each sees (tuned rows when a sweep is set)."""
        rows = {name: self.settings[name].attributes for name in self.run_settings.known}
        if self.sweep is not None:
            rows["gerne_tuned_known"] = "known"
        rows.update({name: self.settings[name].attributes for name in self.run_settings.unknown})
        if self.sweep is not None:
            rows["gerne_tuned_unknown"] = "pseudo"
        return rows

    def ratio(self, value: float) -> float:
        """Check that ``value`` is one of the configured C-MNIST ratios."""
        if value not in self.cmnist.ratios:
            raise ConfigError(f"ratio {value} is not in cmnist.ratios {self.cmnist.ratios}")
        return value


def _format_error(err: ValidationError, source: str) -> str:
    lines = [f"{source} is invalid:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(whole file)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            known = _known_keys(e["loc"][:-1])
            hint = difflib.get_close_matches(str(e["loc"][-1]), known, n=1)
            msg = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else f"; allowed: {sorted(known)}")
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Params
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            if model is Params or not hasattr(model, "model_fields"):
                return []
            continue
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = args[-1] if args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel) else ann
    return list(getattr(model, "model_fields", {}))


def parse_params(data: Any, source: str = "params") -> Params:
    """Validate a params mapping; raise :class:`ConfigError` listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a mapping of sections, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(err, source)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and validate ``params.yaml``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p} not found; run from the repository root or pass --params")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}") from None
    return parse_params(data, str(p))
