"""The work of every stage, derived from params.yaml in memory (nothing is generated: dvc.yaml is fixed).

Each stage of dvc.yaml covers every dataset the studies use: ``data`` fetches and prepares them, ``train`` trains
each one's reference model and scores (only where a row needs them), its rows (one config with every seed, or a
search and then its winner with every seed) and Table 3, ``report`` writes every study's tables and ``figures`` the
paper's figures. :func:`plan` lists that work, one item per (kind, dataset[, row]) with its resolved paths; each
stage walks its kinds, and what is already done (a prepared folder with the same stamp, a run with the same
fingerprint) is kept. Files lie under the dataset's folder (``dir``, default its name): see :mod:`gerne.layout`.
A variant (``variant_of: <base>``, e.g. one bias ratio of a synthetic benchmark) fetches nothing of its own: it
prepares its base's raw files with its own options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gerne import layout

if TYPE_CHECKING:
    from pipeline.config import Params



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


def _files(study: str) -> dict[str, str]:
    return {"md": layout.study_table(study, "md"), "csv": layout.study_table(study, "csv")}


def folder(p: Params, name: str) -> str:
    """``name``'s folder under data/, models/ and runs/."""
    return p.datasets[name].dir or name


def _trains(p: Params, out: dict[str, dict[str, dict[str, Any]]], name: str, base: str, rows: list[str]) -> None:
    """The reference, scores and training items of one dataset."""
    from gerne.methods import METHODS

    where = folder(p, name)
    data, counts = layout.data_dir(where), layout.counts_file(where)
    checkpoint, scores = layout.checkpoint(where), layout.scores_file(where)
    pseudo = {r for r in rows if p.studies.rows[r].grouping.scored}
    starts = {r for r in rows if METHODS[p.studies.rows[r].method].needs_reference}  # from f̃'s weights (DFR)
    common = {"dataset": name, "base": base, "data": data, "checkpoint": checkpoint}
    if pseudo or starts:
        out["reference"][name] = {**common, "summary": str(layout.reference_summary(where))}
    if pseudo:
        out["scores"][name] = {**common, "scores": scores, "quality": str(layout.quality_file(where))}
    for row in rows:
        edge = scores if row in pseudo else checkpoint if row in starts else counts
        item = {"dataset": name, "base": base, "row": row, "data": data, "input": edge,
                "out_dir": str(layout.row_dir(where, row))}
        if p.studies.rows[row].search == "none":
            out["train"][f"{name}-{row}"] = item
        else:
            out["sweep"][f"{name}-{row}"] = {**item, "sweep_dir": str(layout.sweep_dir(where, row))}


def plan(p: Params) -> dict[str, dict[str, dict[str, Any]]]:
    """The work items of every declared dataset a study uses, per kind (pure: params in, mapping out)."""
    from gerne.data.registry import get_dataset

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
            out["valonly"][name] = {"dataset": name, "base": base, "data": data,
                                    "out_dir": str(layout.row_dir(where, "valonly"))}
    for study, table in p.studies.tables.items():
        if table.report == "table1":
            out["table1"][study] = {"study": study, **layout.TABLE1}
        else:
            out["tables"][study] = {"study": study, **_files(study)}
    out["tables"]["table3"] = {"study": "table3", **_files("table3")}
    if p.figures is not None:
        f, where = p.figures, folder(p, p.figures.dataset)
        out["figures"][f.dataset] = {"dataset": f.dataset, "data": layout.data_dir(where),
                                     "runs": str(layout.runs_dir(where)), "quality": str(layout.quality_file(where)),
                                     "sweep": str(layout.sweep_dir(where, f.fig3_row))}
    return out
