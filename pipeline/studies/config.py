"""The ``datasets`` and ``studies`` sections of params.yaml: every dataset (C-MNIST at each ratio, the Table 2/3
releases, your own data) is declared once, and studies train rows × seeds on them.

A declaration names a registry ``kind`` (``gerne.data.registry``), where its files come from and its training
protocol (SubpopBench's step budget, model, optimiser, batch, config 0 = the paper's values, Appendix F). A study is
a report table: which datasets × rows it trains. A variant (``variant_of``) is a dataset declared as another one
with its own prepare options (C-MNIST at another ratio), sharing the base's files. Validated with the rest of
params.yaml (strict keys, strict types from ``pipeline.schema``, ranges and value checks from
``pipeline.studies.fields``, cross-references in ``pipeline.studies.crossrefs``, did-you-mean hints); defaults not
stated by the paper are marked as ours.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from gerne.device import DeviceName
from gerne.groups import Grouping, grouping, list_groupings
from gerne.methods import METHODS
from pipeline.reports.layouts import LAYOUTS
from pipeline.schema import (
    Count,
    Flag,
    Index,
    ModelName,
    NonNegativeReal,
    PositiveReal,
    Real,
    distinct_seeds,
    registered,
)
from pipeline.schema import Strict as _Strict
from pipeline.schema import hint as _hint
from pipeline.studies.fields import SEARCHABLE, check_prepare_values, check_protocol_fields, check_value
from pipeline.studies.sections import ReferenceParams, SearchParams

PAPER_ROWS = ("yes_yes", "no_yes", "no_no")  # Table 2: attributes known in train/val (BENCHMARKS.md, Sec. 5)
HARNESS_INPUTS = ("scores",)  # what the stages give a grouping: the reference model's scores (the scores stage)
GROUPINGS = tuple(list_groupings(HARNESS_INPUTS))  # the gerne.groups entries a row may train on
ATTRIBUTE_METRICS = ("val_wga", "val_gba", "val_aligned_acc", "val_conflicting_acc")  # need val attributes
SELECT_METRICS = (*ATTRIBUTE_METRICS, "val_worst_class", "val_cba", "val_acc")
OWN_THRESHOLDS = (0.01, 0.02, 0.05, 0.1, 0.2)  # own data: pseudo-minority shares rated by precision/recall
ORACLE_METRICS = ("test_wga", "test_gba", "test_acc", "test_conflicting_acc", "test_worst_class")
RESERVED = {"valonly", "raw", "scores", "pseudo", "sweeps", "datasets", "table1_cmnist", "table3", "REPRODUCTION",
            "benchmarks", "benchmarks_gpu", "benchmarks_data", "figures"}  # folders and reports the pipeline writes
NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # no dots: names are parts of DVC param paths
DIR = re.compile(r"^[a-z][a-z0-9_.]*(/[a-z0-9_.]*[a-z0-9_])*$")


class Protocol(_Strict):
    """Training protocol of one dataset and the paper's hyper-parameters (search config 0)."""

    model: ModelName = Field(description="a model family of the registry (gerne.models): mlp, resnet18, resnet50, bert")
    model_options: dict[str, Any] = Field(default_factory=dict, description="e.g. pretrained: false, dropout, hidden")
    steps: Count | None = Field(None, description="step budget (SubpopBench: 5,001 Waterbirds, 30,001 the "
                              "others); or give epochs")
    eval_every: Count | None = Field(None, description="with steps: steps between full val + test evaluations")
    epochs: Count | None = Field(None, description="epoch budget instead of steps (Table 1: 65), val + test "
                               "evaluated after every epoch")
    steps_per_epoch: Index = Field(0, description="with epochs: 0 = one pass, ceil(N / samples per batch)")
    oracle_metric: str = Field("test_wga", description="what the oracle selection maximises: test_wga (Table 2), "
                               "test_gba (Table 1), test_conflicting_acc (bFFHQ); own data: test_gba "
                               "(test_worst_class without attributes)")
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    schedule: Literal["constant", "linear"] = "constant"
    clip_norm: PositiveReal | None = None
    lr: PositiveReal
    weight_decay: NonNegativeReal
    momentum: Real = Field(0.9, ge=0.0, lt=1.0)
    batch_size: Count = Field(description="B per class (batch_unit: class), per group, or per batch (total)")
    batch_unit: Literal["class", "group", "total"] = Field(
        "class", description="total: batch_size samples per step drawn uniformly (methods with natural sampling)")
    pseudo_batch_size: Count | None = Field(None, description="B per pseudo-group (CivilComments: 16)")
    c: Real = Field(gt=0.0, le=1.0)
    beta: Real | None = Field(None, description="config 0's β; null = 1/c − 1 (ours: the paper does not say)")
    t: PositiveReal = Field(0.1, description="config 0's pseudo-minority share (ours), in the dataset's t units "
                     "(see Dataset.absolute_t)")
    eval_batch_size: Count = 256
    track_both_losses: Flag = Field(True, description="log L_b and L_lb even where β makes one weight zero")
    holdout: Literal["train", "val"] = Field("val", description="the split DFR's group-balanced subsets come from "
                                             "(DFR: held-out val; C-MNIST's val is as biased as train)")
    precision: Literal["fp32", "bf16"] = "bf16"

    @model_validator(mode="after")
    def _budget(self) -> Protocol:
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give one training budget: steps (with eval_every) or epochs")
        if self.steps is not None:
            if self.eval_every is None:
                raise ValueError("steps needs eval_every, the steps between evaluations")
            if self.eval_every > self.steps:
                raise ValueError(f"eval_every ({self.eval_every}) exceeds steps ({self.steps})")
            if self.steps_per_epoch:
                raise ValueError("steps_per_epoch belongs to an epoch budget; a step budget has steps and eval_every")
        elif self.eval_every is not None:
            raise ValueError("an epoch budget evaluates after every epoch: drop eval_every")
        return self

    @field_validator("oracle_metric")
    @classmethod
    def _oracle(cls, v: str) -> str:
        return registered("oracle metric", v, ORACLE_METRICS)

    @model_validator(mode="after")
    def _model_options(self) -> Protocol:
        from gerne.models.options import check_model_options

        check_model_options(self.model, self.model_options)
        return self

    def config0_beta(self) -> float:
        """β of search config 0: the given value, else 1/c − 1 (where the rarest group starts to dominate)."""
        return self.beta if self.beta is not None else 1.0 / self.c - 1.0


class Dataset(Protocol):
    """One declared dataset: its registry kind, where its files are, how they are prepared, its protocol."""

    kind: str = Field(description="registry kind: waterbirds, celeba, civilcomments, or own (your own data)")
    root: str = Field("", description="own: folder holding metadata.csv and the files its `filename` column names")
    prepare: dict[str, Any] = Field(description="options of the kind's prepare(): image_size, transform, "
                                    "expected_counts; own also metadata (default metadata.csv) and attributes "
                                    "(false when the table has no bias-attribute column `a`)")
    variant_of: str | None = Field(None, description="another declared dataset this one varies: its files, kind "
                                   "and protocol, with this entry's prepare options (and fields) on top")
    dir: str = Field("", description="its folder under data/, models/, metrics/ and runs/ ('' = its name), e.g. "
                     "cmnist/r0.5")
    pseudo_thresholds: list[PositiveReal] = Field(
        default_factory=list, description="t values (in its t units) the scores stage splits at and rates by "
        f"precision/recall against the true attributes (Fig. 3); own data with attributes: {list(OWN_THRESHOLDS)}")

    def minority_percent(self) -> float | None:
        """The bias-conflicting share per class in percent where the kind defines one (C-MNIST: its ratio)."""
        from gerne.data.registry import KINDS

        unit = KINDS[self.kind].minority_percent
        return None if unit is None else float(unit(**self.prepare))

    def absolute_t(self, t: float) -> float:
        """The pseudo-minority share that ``t`` means here: t × the minority share where the kind defines one
        (t = 1: as large as the true minority, so one grid fits every ratio), else t itself."""
        percent = self.minority_percent()
        return t if percent is None else float(f"{t * percent / 100.0:.12g}")

    @property
    def attributes(self) -> bool:
        """Whether the data has true bias attributes (own data may not)."""
        return bool(self.prepare.get("attributes", True))

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        from gerne.data.registry import KINDS

        return registered("dataset kind", v, KINDS)

    @model_validator(mode="before")
    @classmethod
    def _machine_local_and_own_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "mirror" in data:
            raise ValueError("`mirror` is machine-local, not an experiment parameter (it would mark stages stale and "
                             "write this machine's path into dvc.lock): remove it and name the directory in "
                             "local.yaml (`mirrors: {<dataset>: /that/dir}`, git-ignored) or in "
                             "$GERNE_MIRROR_<DATASET>")
        if data.get("kind") == "own":  # defaults defined on any data: WGA is 0 wherever one test group is tiny
            attributes = bool((data.get("prepare") or {}).get("attributes", True))
            data = {"oracle_metric": "test_gba" if attributes else "test_worst_class",
                    **({"pseudo_thresholds": list(OWN_THRESHOLDS)} if attributes else {}), **data}
        return data

    @model_validator(mode="after")
    def _files(self) -> Dataset:
        import inspect

        from gerne.data.registry import KINDS

        if self.kind == "own" and not self.root:
            raise ValueError("kind: own needs `root`, the folder holding metadata.csv and the images")
        if self.kind != "own" and self.root:
            raise ValueError(f"`root` is for kind: own; a {self.kind} release is fetched (downloaded, or copied "
                             "from this machine's mirror: README, \"Mirrors are machine-local\")")
        for t in [self.t, *self.pseudo_thresholds]:
            if not 0.0 < self.absolute_t(t) < 1.0:
                raise ValueError(f"t = {t} gives a pseudo-minority share of {self.absolute_t(t)}, outside (0, 1)"
                                 + ("" if self.minority_percent() is None else
                                    f" (t is in units of the {self.minority_percent()} % minority)"))
        if self.dir and not DIR.match(self.dir):
            raise ValueError(f"dir '{self.dir}' must be a relative folder of lower-case letters, digits, _, . and /, "
                             "e.g. cmnist/r0.5")
        accepted = [n for n, prm in inspect.signature(KINDS[self.kind].prepare).parameters.items()
                    if prm.kind == prm.KEYWORD_ONLY and n != "workers"]
        for key in self.prepare:
            if key not in accepted:
                raise ValueError(f"prepare option '{key}' is not one of kind {self.kind}'s{_hint(key, accepted)}; "
                                 f"accepted: {accepted}")
        check_prepare_values(self.kind, KINDS[self.kind].prepare, self.prepare)
        return self


class RowParams(_Strict):
    """A table row: the method, the grouping it trains on, and the validation metric that chooses its checkpoint
    and its search config (validation data only)."""

    method: str = Field(description="a registered method (gerne.methods): gerne, erm, reweight, sqrt_reweight, "
                        "groupdro, sw, lff, jtt, dfr")
    groups: str = Field(description=f"a registered grouping (gerne.groups), one of {list(GROUPINGS)}: known "
                        "attributes, none, pseudo-attributes from the reference model's confidence, or its error set "
                        "(JTT)")
    select: str = Field("val_wga", description=f"one of {list(SELECT_METRICS)}")
    paper_selection: Literal["best_val", "oracle"] = Field(
        "best_val", description="the selection rule the paper's table reports for this row")
    eval_train: Flag = Field(False, description="also score the training split after every evaluation (Fig. 2's "
                             "curves; about a quarter more time)")
    config: dict[str, Real] = Field(default_factory=dict, description="values this row fixes over config 0 and "
                                     "over every searched config, e.g. {c: 1.0, beta: 0.0} (resampling)")
    protocol: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per dataset kind, the "
                                                "training-protocol fields this row sets over the dataset's "
                                                "(pipeline.studies.protocols), e.g. DFA's Vanilla recipe on C-MNIST: "
                                                "{cmnist: {optimizer: adam, lr: 1.0e-2, steps: 50000, ...}}")
    search: Literal["random", "none"] | dict[str, list[Real]] = Field(
        "random", description="random: studies.search's seeded configs; none: config 0 (with `config`) only; "
        "{c: [0.5, 1.0], beta: [...]}: the full grid over config 0, points outside Eq. 9 skipped and recorded")
    test_selection: Flag = Field(False, description="a search also reruns its grid point with the best test score "
                                 "(the paper's protocol, reported as test-set selection) with every seed")
    every_seed_on: list[str] = Field(default_factory=list, description="datasets where a search trains every grid "
                                     "point with every seed (Fig. 3: beta per t by validation and by test)")
    beyond_eq9_bound: Flag = Field(False, description="FIGURE ONLY (figures.fig2_beyond_rows, no table): train the "
                                   "literal config beta even outside Eq. 9, with a loud warning instead of the refusal")

    @field_validator("config")
    @classmethod
    def _config_keys(cls, v: dict[str, float]) -> dict[str, float]:
        for key, value in v.items():
            check_value("config", registered("config key", key, SEARCHABLE), value)
        return v

    @field_validator("search")
    @classmethod
    def _grid(cls, v: Any) -> Any:
        if isinstance(v, dict):
            if not v:
                raise ValueError("a grid search needs at least one key, e.g. {beta: [0.0, 0.5, 1.0]}")
            for key, values in v.items():
                registered("grid key", key, SEARCHABLE)
                if not values or len(set(values)) != len(values):
                    raise ValueError(f"grid {key}: {values} must be a non-empty list of distinct values")
                for value in values:
                    check_value("grid", key, value)
        return v

    @field_validator("protocol")
    @classmethod
    def _protocol_keys(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from gerne.data.registry import KINDS

        for kind, fields in v.items():
            registered("dataset kind (protocol fields are given per kind)", kind, KINDS)
            for key in fields:
                registered("protocol field", key, [k for k in Protocol.model_fields if k != "oracle_metric"])
            check_protocol_fields(Protocol, kind, fields)
        return v

    @model_validator(mode="after")
    def _fixed_or_searched(self) -> RowParams:
        both = sorted(set(self.config) & set(self.search if isinstance(self.search, dict) else {}))
        if both:
            raise ValueError(f"{both} are both fixed (config) and searched (search grid); keep one")
        if self.test_selection and self.search == "none":
            raise ValueError("test_selection reruns a search's test-best grid point; this row does not search "
                             "(search: none): its oracle selection is already the paper's protocol")
        if self.every_seed_on and not isinstance(self.search, dict):
            raise ValueError("every_seed_on trains every point of a grid search with every seed: give `search` a "
                             "grid ({t: [...], beta: [...]})")
        accepted = METHODS[self.method].groupings
        if accepted is not None and self.groups not in accepted:
            raise ValueError(f"method {self.method} trains on the groupings {list(accepted)} only (its module's "
                             f"`groupings`): set groups: {accepted[0]}")
        if self.beyond_eq9_bound and (self.method != "gerne" or self.search != "none" or "beta" not in self.config):
            raise ValueError("beyond_eq9_bound (Fig. 2 only) trains one literal β: set method: gerne, search: none, "
                             "config: {beta: ...}")
        return self

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        return registered("method (gerne.methods.METHODS)", v, METHODS)

    @field_validator("select")
    @classmethod
    def _select(cls, v: str) -> str:
        return registered("selection metric", v, SELECT_METRICS)

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: str) -> str:
        entry = grouping(registered("grouping", v, list_groupings()))
        if not set(entry.inputs) <= set(HARNESS_INPUTS):
            raise ValueError(f"grouping '{v}' needs {list(entry.inputs)}, which no stage provides (a stage provides "
                             f"{list(HARNESS_INPUTS)}); a row may train on {list_groupings(HARNESS_INPUTS)}")
        return v

    @property
    def grouping(self) -> Grouping:
        """The declaration of the row's grouping (:mod:`gerne.groups`)."""
        return grouping(self.groups)  # the module's function: a method's body does not see the class namespace

    def needs_attributes(self) -> str | None:
        """Where this row needs true attributes ("train and validation", "validation"), or None."""
        if self.grouping.true_attributes:
            return "train and validation"
        return "validation" if self.select in ATTRIBUTE_METRICS else None


# the paper's rows (Table 2) and the reference model f̃ of Algorithm 2 (class-balanced ERM, checkpoint by val CBA)
DEFAULT_ROWS = {
    "yes_yes": RowParams(method="gerne", groups="known", select="val_wga", paper_selection="oracle"),
    "no_yes": RowParams(method="gerne", groups="confidence", select="val_wga"),
    "no_no": RowParams(method="gerne", groups="confidence", select="val_worst_class"),
}
REFERENCE = RowParams(method="gerne", groups="none", select="val_cba")


class TableStudy(_Strict):
    """One report table: the rows trained on each of its datasets, and the layout it is reported in."""

    datasets: list[str] = Field(default_factory=list, description="declared datasets; [] = the table reads not run")
    rows: list[str] = Field(default_factory=lambda: list(PAPER_ROWS), min_length=1)
    rows_on: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(
        default_factory=dict, description="dataset → the rows trained on it instead of all of `rows` (e.g. a "
        "condition that only matters for some)")
    report: str = Field("study", description="its layout (pipeline.reports.layouts): study (datasets × rows × "
                        "checkpoints, the default), table1 (a column per minority share beside the paper's "
                        "Table 1), table2 (the paper's Table 2), attribution (each row under every variant of "
                        "its first dataset)")

    headline: dict[str, str] = Field(default_factory=dict, description="report: table1 only: label → row whose test "
                                     "GBA (best_val, seed mean) per column is a DVC metric (metrics/headline.json; "
                                     "a row the study does not train is left out); keep it to a few: `dvc metrics "
                                     "show` prints a column each")

    @field_validator("datasets", "rows")
    @classmethod
    def _once(cls, v: list[str], info: Any) -> list[str]:
        twice = sorted({x for x in v if v.count(x) > 1})
        if twice:
            raise ValueError(f"{info.field_name} lists {twice} more than once; list each once")
        return v

    @field_validator("report")
    @classmethod
    def _layout(cls, v: str) -> str:
        return registered("report layout (pipeline.reports.layouts.LAYOUTS)", v, LAYOUTS)

    def rows_of(self, dataset: str) -> list[str]:
        """The rows this study trains on ``dataset``."""
        return self.rows_on.get(dataset, self.rows)


class Table3Params(_Strict):
    """Appendix G: CelebA trained on its validation split only (full, and ``folds``-fold cross-validation)."""

    datasets: list[Literal["celeba"]] = Field(default_factory=list, description="[celeba] to run Table 3")
    folds: Count = Field(3, ge=2)


class StudiesParams(_Strict):
    """What trains. The keys DVC stages read by name (seeds, device, search, reference) must be written out: DVC
    refuses a stage whose parameter is missing from params.yaml, so no default stands in for them here."""

    seeds: list[Index] = Field(min_length=1, description="the training seeds, e.g. [0, 1, 2]: every train, sweep "
                               "and report stage reads studies.seeds")
    device: DeviceName = Field(description="auto, cpu, cuda, cuda:<n> or mps: every training stage reads "
                               "studies.device")
    stack_size: Count = Field(1, description="runs of one stage (seeds, search configs) trained together as one "
                              "stacked model (torch.func); 1 on a CPU, 8-32 for small models on a GPU")
    search: SearchParams = Field(description="the random search, e.g. {configs: 16, seed: 0} ({} = the defaults): "
                                 "every sweep stage reads studies.search")
    reference: ReferenceParams = Field(description="the reference model f̃, e.g. {lr_factor: 1.0e-1} ({} = the "
                                       "defaults): every reference stage reads studies.reference")
    rows: dict[str, RowParams] = Field(min_length=1, description="name → row (method, grouping, selection)")
    tables: dict[str, TableStudy] = Field(default_factory=dict, description="report name → its datasets × rows")
    table3: Table3Params = Table3Params()

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, v: list[int]) -> list[int]:
        return distinct_seeds(v, "studies.seeds")

    @field_validator("tables")
    @classmethod
    def _names(cls, v: dict[str, TableStudy]) -> dict[str, TableStudy]:
        for name in v:
            if not NAME.match(name) or name in RESERVED:
                raise ValueError(f"study name '{name}' must be lower-case letters, digits and _ (not one of the "
                                 f"names the pipeline uses: {sorted(RESERVED)}); it names reports/tables/<name>.md")
        return v
