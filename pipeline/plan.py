"""The stage list of the declared datasets, generated from params.yaml into ``plan.yaml`` (read by dvc.yaml).

DVC cannot interpolate lists into ``deps``, and a ``matrix`` is a full product (a dataset without attributes must not
get the rows that need them), so the studies are expanded here into one item per stage instance, each with its
resolved paths: ``fetch@<dataset>``, ``prepare@<dataset>``, ``reference@<dataset>`` and ``scores@<dataset>`` (only
where a row needs pseudo-attributes), ``sweep@<dataset>-<row>``, ``valonly@<dataset>`` and ``tables@<study>``, its
files under the dataset's folder (``dir``, default its name). A variant (``variant_of: <base>``, e.g. one bias ratio
of a synthetic benchmark) fetches nothing of its own: it prepares its base's raw files with its own options, and its
stages read both its params and its base's (``item.base``; the dataset itself when no variant). Every ``sweep`` item
has one upstream input: the reference scores for pseudo-attribute rows, the dataset's counts otherwise, so rows with
true attributes never wait for (or rerun after) the biased model. ``gerne plan`` writes the file, ``make repro`` runs
it first, and every stage of these datasets refuses to run on a stale plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gerne.errors import ConfigError
from gerne.io import write_text

if TYPE_CHECKING:
    from pipeline.config import Params

PLAN = "plan.yaml"
HEADER = "# Generated from params.yaml by `gerne plan` (make repro runs it); do not edit. dvc.yaml reads it.\n"


def used_datasets(p: Params) -> list[str]:
    """The declared datasets some study trains on, in order of first use."""
    names = [n for t in p.studies.tables.values() for n in t.datasets] + list(p.studies.table3.datasets)
    return list(dict.fromkeys(names))


def _rows(p: Params) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for table in p.studies.tables.values():
        for name in table.datasets:
            rows[name] = list(dict.fromkeys([*rows.get(name, []), *table.rows]))
    return rows


def plan(p: Params) -> dict[str, dict[str, dict[str, Any]]]:
    """The stage items of every declared dataset a study uses (pure: params in, mapping out)."""
    from gerne.data.registry import get_dataset
    from gerne.methods import METHODS
    from gerne.models import FILES

    out: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in ("fetch", "prepare", "reference", "scores",
                                                                 "sweep", "valonly", "tables")}
    rows = _rows(p)
    for name in used_datasets(p):
        d, entry = p.datasets[name], get_dataset(p.datasets[name].kind)
        base = d.variant_of or name  # a variant prepares its base's files; its stages also read the base's params
        raw = d.root if entry.read_in_place else f"data/raw/{base}"
        folder = d.dir or name  # data/<folder>, models/<folder>, metrics/<folder>, runs/datasets/<folder>
        data, counts, model = f"data/{folder}", f"metrics/{folder}/counts.json", FILES[d.model]
        if not entry.read_in_place:
            out["fetch"][base] = {"dataset": base, "module": entry.module, "raw": raw}
        out["prepare"][name] = {"dataset": name, "base": base, "module": entry.module, "raw": raw, "data": data,
                                "counts": counts}
        checkpoint, scores = f"models/{folder}/biased.pt", f"data/pseudo/{folder}/pseudo.npz"
        pseudo = {r for r in rows.get(name, []) if p.studies.rows[r].groups == "confidence"}
        if pseudo:
            common = {"dataset": name, "base": base, "data": data, "model": model, "checkpoint": checkpoint}
            out["reference"][name] = {**common, "summary": f"runs/datasets/{folder}/biased.json"}
            out["scores"][name] = {**common, "scores": scores, "quality": f"metrics/{folder}/pseudo.json"}
        for row in rows.get(name, []):
            method = METHODS[p.studies.rows[row].method].__module__.replace(".", "/") + ".py"
            out["sweep"][f"{name}-{row}"] = {
                "dataset": name, "base": base, "row": row, "data": data, "model": model, "method": method,
                "input": scores if row in pseudo else counts,
                "sweep_dir": f"runs/datasets_sweep/{folder}/{row}", "out_dir": f"runs/datasets/{folder}/{row}"}
        if name in p.studies.table3.datasets:
            out["valonly"][name] = {"dataset": name, "base": base, "data": data, "model": model,
                                    "method": "gerne/methods/gerne.py",
                                    "out_dir": f"runs/datasets/{folder}/valonly"}
    for study in [*p.studies.tables, "table3"]:
        out["tables"][study] = {"study": study, "md": f"reports/{study}.md", "csv": f"reports/{study}.csv"}
    return out


def render(p: Params) -> str:
    return HEADER + yaml.safe_dump({"plan": plan(p)}, sort_keys=False, width=120)


def write_plan(p: Params, path: str | Path = PLAN) -> bool:
    """Write ``plan.yaml`` for ``p``; True when it changed."""
    text, target = render(p), Path(path)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    write_text(target, text)
    return True


def check_plan(p: Params, path: str | Path = PLAN) -> None:
    """ConfigError when ``plan.yaml`` is missing or does not match ``p`` (datasets or studies edited since)."""
    target = Path(path)
    if not target.is_file() or target.read_text(encoding="utf-8") != render(p):
        raise ConfigError(f"{target} is stale: params.yaml's datasets or studies changed since it was generated. "
                          "Run `gerne plan` (or `make repro`, which runs it), then `dvc repro` again")


def load_planned(params_path: str | Path) -> Params:
    """params.yaml, validated, with its ``plan.yaml`` beside it checked current (what every declared stage needs)."""
    from pipeline.config import load_params

    p = load_params(params_path)
    check_plan(p, Path(params_path).parent / PLAN)
    return p
