"""The parameter schema, validated in one place (strict: unknown keys are errors, values range-checked).

``params.yaml`` is the whole experiment design; every pipeline stage loads it through :func:`load_params`, so a
misspelled key or an out-of-range value stops the first stage with a message naming the key and the fix.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from gerne.errors import ConfigError
from pipeline.schema import Strict as _Strict
from pipeline.schema import explain
from pipeline.schema import hint as _hint
from pipeline.studies.config import Dataset, StudiesParams, TableStudy
from pipeline.studies.crossrefs import check_studies
from pipeline.studies.launch import LaunchParams
from pipeline.studies.variants import resolve_variants


class FiguresParams(_Strict):
    """Figs. 2 and 3 of the paper, drawn from runs of one declared dataset (C-MNIST at 0.5 %)."""

    dataset: str = Field(description="the declared dataset the figures are drawn on")
    fig2_rows: list[str] = Field(min_length=1, description="Fig. 2: rows (known attributes, one β each) trained "
                                 "with the train split scored every epoch")
    fig2_beyond_rows: list[str] = Field(default_factory=list, description="Fig. 2: rows whose β lies above Eq. 9's "
                                        "bound, trained with beyond_eq9_bound: true (figure only) to show divergence")
    fig3_row: str = Field(description="Fig. 3: the pseudo-attribute row whose t × β grid search the panels read")

    def rows(self) -> list[str]:
        """The rows the figures need trained on ``dataset``."""
        return [*self.fig2_rows, *self.fig2_beyond_rows, self.fig3_row]


class Params(_Strict):
    datasets: dict[str, Dataset] = Field(description="the declared datasets ({} = none): the report stages read "
                                         "the whole section")
    studies: StudiesParams = Field(description="rows, seeds and report tables: the report stages read the whole "
                                   "section")
    figures: FiguresParams | None = None
    launch: LaunchParams = Field(default_factory=LaunchParams)   # where runs train; no stage depends on it

    @field_validator("datasets", mode="before")
    @classmethod
    def _variants(cls, v: Any) -> Any:
        return resolve_variants(v)

    @model_validator(mode="after")
    def _cross_references(self) -> Params:
        check_studies(self.datasets, self.studies)
        check_beyond_bound(self.figures, self.studies)
        if self.figures is not None:
            check_figures(self.figures, self.datasets, self.studies)
        return self

    def declared(self, dataset: str) -> tuple[StudiesParams, Dataset]:
        """The ``studies`` section and ``dataset``'s declaration (ConfigError naming the declared ones otherwise)."""
        if dataset not in self.datasets:
            raise ConfigError(f"params.yaml declares no dataset '{dataset}' under datasets (declared: "
                              f"{sorted(self.datasets)}); see the README, \"Your own dataset\"")
        return self.studies, self.datasets[dataset]

    def table1(self) -> tuple[str, TableStudy] | None:
        """The study reported as Table 1 (``report: table1``), or None."""
        return next(((n, t) for n, t in self.studies.tables.items() if t.report == "table1"), None)


def check_figures(f: FiguresParams, datasets: dict[str, Dataset], studies: StudiesParams) -> None:
    """The figures' dataset is declared, Fig. 2's rows train on known attributes with one fixed config, and Fig. 3's
    row searches a t × β grid on pseudo-attributes."""
    if f.dataset not in datasets:
        raise ValueError(f"figures.dataset names '{f.dataset}', which is not declared under datasets"
                         f"{_hint(f.dataset, datasets)}")
    for name in f.rows():
        if name not in studies.rows:
            raise ValueError(f"figures names the row '{name}', which is not defined under studies.rows"
                             f"{_hint(name, studies.rows)}")
    for key, names in (("fig2_rows", f.fig2_rows), ("fig2_beyond_rows", f.fig2_beyond_rows)):
        for name in names:
            row = studies.rows[name]
            if not row.grouping.true_attributes or row.search != "none" or "beta" not in row.config:
                raise ValueError(f"figures.{key}: '{name}' must train on known attributes with its own β "
                                 "(groups: known, search: none, config: {c: ..., beta: ...})")
            if key == "fig2_beyond_rows" and not row.beyond_eq9_bound:
                raise ValueError(f"figures.fig2_beyond_rows: '{name}' must set beyond_eq9_bound: true (the figure's "
                                 "rows above Eq. 9's bound train only with the override)")
            if key == "fig2_rows" and row.beyond_eq9_bound:
                raise ValueError(f"figures.fig2_rows: '{name}' sets beyond_eq9_bound: list it under "
                                 "figures.fig2_beyond_rows, drawn apart as above Eq. 9's bound")
    row = studies.rows[f.fig3_row]
    share = row.grouping.share
    if share is None or not isinstance(row.search, dict) or not {share, "beta"} <= set(row.search):
        raise ValueError(f"figures.fig3_row: '{f.fig3_row}' must search a grid over t and beta on pseudo-attributes "
                         "(groups: confidence, search: {t: [...], beta: [...]})")


def check_beyond_bound(f: FiguresParams | None, studies: StudiesParams) -> None:
    """``beyond_eq9_bound`` (train β outside Eq. 9) is for Fig. 2 only: its rows are in figures.fig2_beyond_rows and
    in no table study."""
    for study, table in studies.tables.items():
        for name in table.rows:
            if studies.rows[name].beyond_eq9_bound:
                raise ValueError(f"studies.tables.{study}.rows names '{name}', which sets beyond_eq9_bound: true; "
                                 "that override is for Fig. 2 only (figures.fig2_beyond_rows), never a table row")
    for name, row in studies.rows.items():
        if row.beyond_eq9_bound and (f is None or name not in f.fig2_beyond_rows):
            raise ValueError(f"studies.rows.{name} sets beyond_eq9_bound: true, which is for Fig. 2 only: list it "
                             "under figures.fig2_beyond_rows or remove the override")


def _format_error(err: ValidationError, source: str) -> str:
    lines = [f"{source} is invalid:"]
    for e in err.errors():
        if e["type"] == "literal_error" and isinstance(e["input"], dict | list):
            continue  # the other branch of a union (e.g. a row's search: random, none or a grid) says what is wrong
        path = tuple(p for p in e["loc"] if not (isinstance(p, str) and "[" in p))  # without union branch tags
        loc = ".".join(str(p) for p in path) or "(whole file)"
        msg = explain(e)
        if e["type"] == "extra_forbidden":
            known = list(getattr(_model_at(path[:-1]), "model_fields", {}))
            hint = difflib.get_close_matches(str(path[-1]), known, n=1)
            msg = "unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else f"; allowed: {sorted(known)}")
        elif e["type"] == "missing":
            field = getattr(_model_at(path[:-1]), "model_fields", {}).get(path[-1])
            msg = "missing: add it" + (f" ({field.description})" if field is not None and field.description else "")
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def _model_at(loc: tuple[Any, ...]) -> Any:
    """The schema model at ``loc`` (mapping keys such as dataset names skipped), or None."""
    model: Any = Params
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            if model is Params or not hasattr(model, "model_fields"):
                return None
            continue
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = args[-1] if args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel) else ann
    return model


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
