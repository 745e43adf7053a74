"""The Table 1 study's two prose reports, wired from params.yaml: ``reports/REPRODUCTION.md`` (the claims tested,
the cells, why cells can differ; :mod:`pipeline.reports.reproduction`) and ``reports/baselines.md``
(:mod:`pipeline.reports.baselines`), both for the study's C-MNIST columns and the figures' dataset."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gerne import layout
from pipeline.reports import baselines, claims
from pipeline.reports.reproduction import TOLERANCE, build
from pipeline.reports.study import columns
from pipeline.reports.table import paper_targets, reproduced

if TYPE_CHECKING:
    from pipeline.config import Params

DFA = "https://github.com/kakaoenterprise/Learning-Debiased-Disentangled"  # the paper's ERM row is DFA's Vanilla


def _common(folders: list[str]) -> str:
    """The deepest folder holding every one of ``folders``."""
    import os

    return os.path.commonpath(folders)


def _evidence(p: Params, frame: pd.DataFrame, targets: dict, cols: list, runs: Path,
              models: Path) -> tuple[claims.Evidence, dict[float, str], dict[float, str]]:
    """What the claims are tested on, and Fig. 2's rows by β (within the bound, and beyond it)."""
    fig2: dict[float, str] = {}
    beyond: dict[float, str] = {}
    fig_runs = quality = sweep = None
    if p.figures is not None:
        f = p.figures
        where = p.datasets[f.dataset].dir or f.dataset
        fig2 = {p.studies.rows[r].config["beta"]: r for r in f.fig2_rows}
        beyond = {p.studies.rows[r].config["beta"]: r for r in f.fig2_beyond_rows}
        fig_runs, sweep = runs / where, layout.sweep_dir(where, f.fig3_row, runs)
        path = layout.quality_file(where, models)
        quality = json.loads(path.read_text()) if path.is_file() else {}
    evidence = claims.Evidence(frame, targets, [c.ratio for c in cols], fig_runs, quality or {}, sweep,
                               {c.ratio: runs / c.folder for c in cols})
    return evidence, fig2, beyond


def reproduction(p: Params, study: str, table: str, runs_table: str, runs: str = "runs", models: str = "models",
                 data: str = "data") -> tuple[str, str]:
    """The markdown of reports/REPRODUCTION.md and of reports/baselines.md for ``study`` (reported as Table 1), from
    its C-MNIST table ``table``, its per-run table ``runs_table``, the run summaries under ``runs``, the reference
    models' folders under ``models`` (pseudo-attribute quality) and the prepared data under ``data`` (counts)."""
    kind = reproduced()  # the benchmark this report covers (its Table 1 column and Figs. 2-3)
    cols = [c for c in columns(p, study) if c.benchmark == kind]
    tuned = [r for r in p.studies.tables[study].rows if p.studies.rows[r].search != "none"]
    folders = [(c, row, layout.sweep_dir(c.folder, row, runs)) for c, row in product(cols, tuned)]
    sweeps = [(c.ratio, d) for c, _, d in folders]
    figure = p.datasets[p.figures.dataset].minority_percent() if p.figures is not None else cols[0].ratio
    common = _common([c.folder for c in cols])
    spent = [layout.runs_dir(common, runs), layout.sweeps_dir(common, runs)]
    rows = {r: p.studies.rows[r] for r in p.studies.tables[study].rows}
    not_gerne = tuple(r for r, spec in rows.items() if spec.method != "gerne")
    targets, frame = paper_targets(kind), pd.read_csv(table)
    sw = next((r for r, spec in rows.items() if spec.method == "sw"), None)
    evidence, fig2, beyond = _evidence(p, frame, targets, cols, Path(runs), Path(models))
    tested = claims.paper_claims(evidence, set(rows), fig2, beyond, sw)
    once = claims.within(evidence, {n: n for n in (claims.RESAMPLE, claims.KNOWN, claims.UNKNOWN) if n in rows},
                         TOLERANCE)
    text = build(Path(table), Path(runs_table), spent,
                 ({c.ratio: Path(data) / c.folder for c in cols}, {c.ratio: Path(models) / c.folder for c in cols}),
                 {c.ratio: Path(runs) / c.folder for c in cols}, sweeps, p.datasets[cols[0].dataset].epochs,
                 figure, not_gerne, claims.render(tested), once, len(p.studies.seeds),
                 every={d for c, row, d in folders if c.dataset in p.studies.rows[row].every_seed_on},
                 tested={d for _, row, d in folders if p.studies.rows[row].test_selection})
    text += _vanilla_text(frame, rows, targets, [c.ratio for c in cols], kind)
    trained = {r: {"label": spec.method, "paper_selection": spec.paper_selection,
                   "targets": targets["rows"].get(r, {})} for r, spec in rows.items()
               if spec.method not in ("gerne", "sw")}
    report = baselines.build(frame, pd.read_csv(runs_table), trained, targets.get("copied", {}),
                             {c.ratio: Path(runs) / c.folder for c in cols}, sw, len(p.studies.seeds))
    return text, report


def _vanilla_text(frame: pd.DataFrame, rows: dict[str, Any], targets: dict[str, Any], ratios: list[float],
                  kind: str) -> str:
    """The section on the paper's ERM row trained by DFA's Vanilla recipe on ``kind`` (none when no row trains
    it)."""
    vanilla = next((r for r, spec in rows.items() if spec.method == "erm" and spec.protocol.get(kind)), None)
    if vanilla is None:
        return ""
    return "\n" + "\n".join([
        f"## The paper's ERM row, trained by its recipe (`{vanilla}`)", "",
        f"DFA's Vanilla recipe ({DFA}, `scripts/run_cmnist_vanilla.sh`) on our splits and seeds. The copied "
        "row keeps the best test accuracy seen, our `oracle` selection; validation selection beside it. "
        "`reports/baselines.md` has every baseline trained here.", "",
        *baselines.vanilla_section(frame, vanilla, targets, ratios, TOLERANCE), "",
        baselines.vanilla_gap(frame, vanilla, targets, ratios), "",
        "What can be left of the gap, each measured by the study `attribution` (`reports/tables/attribution.md`: "
        "every copied row under each condition, and the share of its gap the condition closes; "
        "`reports/tables/attribution_ratios.md`: the nearest combination at every ratio): the split "
        "(DFA's released C-MNIST has 249 conflicting images at 0.5 %, ours 275, and its colours may be a hue "
        "wheel rather than LfF's palette: read from DFA's README figure, not from its files); DFA's and LfF's "
        "MLPs divide their inputs by 255 twice (inputs in [0, 1/255]), which Adam's per-parameter step does "
        "not undo for the first layer's effect on its outputs; no source sets a seed, and C-MNIST ERM varies "
        "from seed to seed.",
        ""])


