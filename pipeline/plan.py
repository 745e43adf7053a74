"""The stage list of the declared datasets, generated from params.yaml into ``plan.yaml`` (read by dvc.yaml).

DVC cannot interpolate lists into ``deps``, and a ``matrix`` is a full product (a dataset without attributes must not
get the rows that need them), so the studies are expanded here into one item per stage instance, each with its
resolved paths: ``fetch@<dataset>``, ``prepare@<dataset>``, ``reference@<dataset>`` and ``scores@<dataset>`` (only
where a row needs pseudo-attributes), ``train@<dataset>-<row>`` (a row with one config: every seed) or
``sweep@<dataset>-<row>`` (a row that searches: every config, then the winner with every seed), ``valonly@<dataset>``,
the reports (``tables@<study>``; Table 1's ``aggregate@``, ``report@``, ``reproduction@``) and the figures
(``figure2@<dataset>``, ``figure3@<dataset>``). Files lie under the dataset's folder (``dir``, default its name):
``data/<folder>``, ``models/<folder>``, ``metrics/<folder>``, ``runs/<folder>/<row>`` and
``runs/sweeps/<folder>/<row>``. A variant (``variant_of: <base>``, e.g. one bias ratio of a synthetic benchmark)
fetches nothing of its own: it prepares its base's raw files with its own options, and its stages read both its
params and its base's (``item.base``; the dataset itself when no variant). Every training item has one upstream
input: the reference scores for pseudo-attribute rows, the reference checkpoint for methods that start from its
weights (DFR), the dataset's counts otherwise, so rows with true attributes never wait for (or rerun after) the
biased model. ``gerne plan`` writes the file, ``make repro`` runs it
first, and every stage of these datasets refuses to run on a stale plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gerne import layout
from gerne.errors import ConfigError
from gerne.io import write_text

if TYPE_CHECKING:
    from pipeline.config import Params

PLAN = "plan.yaml"
TABLES_CODE = "pipeline/tables.py"  # what a tables@ stage of a study without datasets depends on
HEADER = "# Generated from params.yaml by `gerne plan` (make repro runs it); do not edit. dvc.yaml reads it.\n"


def _rows(p: Params) -> dict[str, list[str]]:
    """Per dataset some study or figure uses, the rows trained on it (in order of first use)."""
    rows: dict[str, list[str]] = {}
    uses = [(name, t.rows_of(name)) for t in p.studies.tables.values() for name in t.datasets]
    if p.figures is not None:
        uses.append((p.figures.dataset, p.figures.rows()))
    for name, names in uses:
        rows[name] = list(dict.fromkeys([*rows.get(name, []), *names]))
    return rows


def used_datasets(p: Params) -> list[str]:
    """The declared datasets some study or figure trains on, in order of first use."""
    return list(dict.fromkeys([*_rows(p), *p.studies.table3.datasets]))


KINDS = ("fetch", "prepare", "reference", "scores", "train", "sweep", "valonly", "tables", "table1", "figures")
TABLE1 = {"runs_table": "metrics/cmnist_runs.csv", "out": "reports/table1_cmnist", "full": "reports/table1",
          "headline": "metrics/headline.json", "reproduction": "reports/REPRODUCTION.md",
          "baselines": "reports/baselines.md"}  # the one Table 1 report
REPRODUCED = "cmnist"  # the kind REPRODUCTION.md covers (Table 1's C-MNIST column and Figs. 2-3)


def folder(p: Params, name: str) -> str:
    """``name``'s folder under data/, models/, metrics/ and runs/."""
    return p.datasets[name].dir or name


def runs_of(p: Params, datasets: list[str], under: str = "runs", empty: str = PLAN) -> str:
    """The one folder a report stage depends on: the deepest under ``under`` holding every dataset's folder
    (``runs/cmnist`` for Table 1; ``runs`` for datasets in unrelated folders), or ``empty`` when the study lists none
    (DVC takes one path per dependency slot, and a study's report must not wait on runs of datasets it does not
    show: a table stage then depends on its own code, which no plan change touches)."""
    import os

    if not datasets:
        return empty
    return os.path.commonpath([f"{under}/{folder(p, name)}" for name in datasets])


def _trains(p: Params, out: dict[str, dict[str, dict[str, Any]]], name: str, base: str, rows: list[str]) -> None:
    """The reference, scores and training items of one dataset."""
    from gerne.methods import METHODS
    from gerne.models import FILES

    d, where = p.datasets[name], folder(p, name)
    data, counts, model = layout.data_dir(where), layout.counts_file(where), FILES[d.model]
    checkpoint, scores = layout.checkpoint(where), layout.scores_file(where)
    pseudo = {r for r in rows if p.studies.rows[r].grouping.scored}
    starts = {r for r in rows if METHODS[p.studies.rows[r].method].needs_reference}  # from f̃'s weights (DFR)
    common = {"dataset": name, "base": base, "data": data, "model": model, "checkpoint": checkpoint}
    if pseudo or starts:
        out["reference"][name] = {**common, "summary": str(layout.reference_summary(where))}
    if pseudo:
        out["scores"][name] = {**common, "scores": scores, "quality": str(layout.quality_file(where))}
    for row in rows:
        method = _file(METHODS[p.studies.rows[row].method].__module__)
        grouping = _file(p.studies.rows[row].grouping.apply.__module__)  # gerne/groups/<name>.py
        edge = scores if row in pseudo else checkpoint if row in starts else counts
        item = {"dataset": name, "base": base, "row": row, "data": data, "model": model, "method": method,
                "grouping": grouping, "input": edge, "out_dir": str(layout.row_dir(where, row))}
        if p.studies.rows[row].search == "none":
            out["train"][f"{name}-{row}"] = item
        else:
            out["sweep"][f"{name}-{row}"] = {**item, "sweep_dir": str(layout.sweep_dir(where, row))}


def _file(module: str) -> str:
    """The source file of a module of this repository (``gerne.methods.erm`` → ``gerne/methods/erm.py``)."""
    return module.replace(".", "/") + ".py"


def plan(p: Params) -> dict[str, dict[str, dict[str, Any]]]:
    """The stage items of every declared dataset a study uses (pure: params in, mapping out)."""
    from gerne.data.registry import get_dataset
    from gerne.models import FILES

    out: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
    rows = _rows(p)
    for name in used_datasets(p):
        d, entry = p.datasets[name], get_dataset(p.datasets[name].kind)
        base = d.variant_of or name  # a variant prepares its base's files; its stages also read the base's params
        raw = d.root if entry.read_in_place else layout.raw_dir(base)
        where = folder(p, name)
        data, counts = layout.data_dir(where), layout.counts_file(where)
        if not entry.read_in_place:
            out["fetch"][base] = {"dataset": base, "module": entry.module, "raw": raw}
        out["prepare"][name] = {"dataset": name, "base": base, "module": entry.module, "raw": raw, "data": data,
                                "counts": counts}
        _trains(p, out, name, base, rows.get(name, []))
        if name in p.studies.table3.datasets:
            out["valonly"][name] = {"dataset": name, "base": base, "data": data, "model": FILES[d.model],
                                    "method": "gerne/methods/gerne.py",
                                    "out_dir": str(layout.row_dir(where, "valonly"))}
    for study, table in p.studies.tables.items():
        runs = runs_of(p, table.datasets, empty=TABLES_CODE)
        if table.report == "table1":
            reproduced = [n for n in table.datasets if p.datasets[n].kind == REPRODUCED]
            out["table1"][study] = {"study": study, "runs": runs, **TABLE1,
                                    "metrics": runs_of(p, reproduced, "metrics"),
                                    "sweeps": runs_of(p, reproduced, "runs/sweeps")}
        else:
            out["tables"][study] = {"study": study, "spec": f"studies.tables.{study}", "runs": runs,
                                    "md": f"reports/{study}.md", "csv": f"reports/{study}.csv"}
    out["tables"]["table3"] = {"study": "table3", "spec": "studies.table3",
                               "runs": runs_of(p, p.studies.table3.datasets, empty=TABLES_CODE),
                               "md": "reports/table3.md", "csv": "reports/table3.csv"}
    if p.figures is not None:
        f, where = p.figures, folder(p, p.figures.dataset)
        out["figures"][f.dataset] = {"dataset": f.dataset, "data": layout.data_dir(where),
                                     "runs": str(layout.runs_dir(where)), "quality": str(layout.quality_file(where)),
                                     "sweep": str(layout.sweep_dir(where, f.fig3_row))}
    return out


def _declaration(p: Params, datasets: list[str], rows: list[str], **extra: Any) -> dict[str, Any]:
    """What a report stage reads of params.yaml: its datasets' and rows' declarations (resolved), the seeds, and
    ``extra``; a DVC param of its stage, so editing another study reruns no report of this one."""
    return {"datasets": {n: p.datasets[n].model_dump(mode="json") for n in dict.fromkeys(datasets)},
            "rows": {r: p.studies.rows[r].model_dump(mode="json") for r in dict.fromkeys(rows)},
            "seeds": list(p.studies.seeds), **extra}


def declared(p: Params) -> dict[str, dict[str, Any]]:
    """Per report stage (``tables@<study>``, ``reproduction@<study>``), the declarations it reads."""
    out: dict[str, dict[str, Any]] = {"tables": {}, "reproduction": {}}
    for study, table in p.studies.tables.items():
        rows = list(dict.fromkeys(r for n in table.datasets for r in table.rows_of(n))) or list(table.rows)
        spec = table.model_dump(mode="json")
        if table.report != "table1":
            out["tables"][study] = _declaration(p, table.datasets, rows, study=spec)
            continue
        f = p.figures
        figures = {} if f is None else {"figures": f.model_dump(mode="json")}
        out["reproduction"][study] = _declaration(p, [*table.datasets, *([f.dataset] if f else [])],
                                                  [*rows, *(f.rows() if f else [])], study=spec, **figures)
    out["tables"]["table3"] = {"study": p.studies.table3.model_dump(mode="json"),
                               "datasets": {n: p.datasets[n].model_dump(mode="json")
                                            for n in p.studies.table3.datasets}}
    return out


def render(p: Params) -> str:
    return HEADER + yaml.safe_dump({"plan": plan(p), "declared": declared(p)}, sort_keys=False, width=120)


def write_plan(p: Params, path: str | Path = PLAN) -> bool:
    """Write ``plan.yaml`` for ``p``; True when it changed."""
    text, target = render(p), Path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    write_text(target, text)
    return True


def same_stages(p: Params, path: str | Path = PLAN) -> bool:
    """Whether ``plan.yaml`` at ``path`` holds ``p``'s stage list (its ``plan`` section). Its ``declared`` section
    (what each report stage reads) may lag: an override of a value (`dvc exp run -S datasets.x.lr=…`) keeps the
    stage list, and the report stages also depend on the runs they read."""
    target = Path(path)
    if not target.is_file():
        return False
    committed = (yaml.safe_load(target.read_text(encoding="utf-8")) or {}).get("plan")
    return committed == yaml.safe_load(yaml.safe_dump(plan(p), sort_keys=False))


def check_plan(p: Params, path: str | Path = PLAN) -> None:
    """ConfigError when ``plan.yaml`` is missing or its stage list does not match ``p`` (a dataset, row or study
    added, removed or moved since it was generated)."""
    target = Path(path)
    if not same_stages(p, target):
        raise ConfigError(f"{target} is stale: params.yaml's datasets or studies changed since it was generated. "
                          "Run `gerne plan` (or `make repro`, which runs it), then `dvc repro` again")


def load_planned(params_path: str | Path) -> Params:
    """params.yaml, validated, with its ``plan.yaml`` beside it checked current (what every declared stage needs)."""
    from pipeline.config import load_params

    p = load_params(params_path)
    check_plan(p, Path(params_path).parent / PLAN)
    return p
