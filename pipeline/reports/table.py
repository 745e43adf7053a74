"""Table 1 (C-MNIST column): our mean ± std over seeds beside the paper's value and the difference."""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from gerne.health import describe_rule
from pipeline.reports.render import mean_std, table_head, table_row

SELECTION_RULES = {
    "best_val": "epoch with the best validation GBA (validation data only)",
    "last": "last epoch",
    "oracle": "epoch with the best test GBA (oracle, as some baselines in the paper were reported)",
    "test": "the paper's protocol: config (over the row's grid) and epoch with the best test GBA, every seed of "
            "that config — test-set selection, an upper bound, not ours",
}
COLLAPSED = "†"  # marks a cell whose seeds collapsed to chance (collapse_note, collapse_footnote)
PAPER = "the paper's Table 1 (arXiv:2503.13236), as copied into `pipeline/reports/targets.yaml`"


def _targets() -> dict[str, Any]:
    text = resources.files("pipeline.reports").joinpath("targets.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def paper_targets(benchmark: str) -> dict[str, Any]:
    """The paper's values for ``benchmark``: ``pipeline/reports/targets.yaml`` (its tables, arXiv:2503.13236)."""
    return _targets()[benchmark]


def reproduced() -> str:
    """The benchmark (dataset kind) REPRODUCTION.md covers: ``reproduced`` in ``pipeline/reports/targets.yaml``."""
    return str(_targets()["reproduced"])


def summarise(runs: pd.DataFrame, metric: str = "test_gba") -> pd.DataFrame:
    """Mean and sample std (ddof = 1) of ``metric`` in % over seeds per (selection, setting, ratio), how many of
    the seeds diverged and how many collapsed to chance (``collapsed``, where the run table has it), and the test
    WGA's mean and std in % beside them (``wga_mean``, ``wga_std``, where the run table has ``test_wga``)."""
    flags = runs["collapsed"].fillna(False).astype(bool) if "collapsed" in runs else False
    grouped = runs.assign(collapsed=flags).groupby(["selection", "setting", "ratio"], sort=False)
    out = grouped[metric].agg(mean="mean", std="std", n_seeds="count").reset_index()
    out["mean"] *= 100.0
    out["std"] *= 100.0
    out["n_diverged"] = grouped["diverged"].sum().astype(int).to_numpy()
    out["n_collapsed"] = grouped["collapsed"].sum().astype(int).to_numpy()
    if "test_wga" in runs and metric != "test_wga":
        wga = grouped["test_wga"].agg(["mean", "std"]) * 100.0
        out["wga_mean"], out["wga_std"] = wga["mean"].to_numpy(), wga["std"].to_numpy()
    return out


def collapse_note(n_collapsed: int, n_seeds: int) -> str:
    """The mark of a cell whose seeds collapsed to chance (empty when none did), explained by
    :func:`collapse_footnote`: `` † collapsed in 3/3 seeds``."""
    return f" {COLLAPSED} collapsed in {n_collapsed}/{n_seeds} seeds" if n_collapsed else ""


def collapse_footnote(num_classes: int | None = None) -> str:
    """The footnote under a table with a :func:`collapse_note`: the rule (``gerne/health.py``) in words."""
    return (f"{COLLAPSED} Collapsed: the run ended at chance — {describe_rule(num_classes)} (`gerne/health.py`, "
            "derived from each run summary's per-epoch history; the summaries say `diverged: false` because the loss "
            "stayed finite). The cell shows the checkpoint its selection rule chose, which can predate the collapse.")


def with_paper(summary: pd.DataFrame, targets: dict[str, Any]) -> pd.DataFrame:
    """Add the paper's mean/std and our difference (ours − paper) where the paper has the cell."""
    out = summary.copy()
    paper = [_paper(targets, s, r) for s, r in zip(out["setting"], out["ratio"], strict=True)]
    out["paper_mean"] = [p[0] for p in paper]
    out["paper_std"] = [p[1] for p in paper]
    out["diff"] = out["mean"] - out["paper_mean"]
    return out


def to_markdown(table: pd.DataFrame, targets: dict[str, Any], settings: dict[str, str], ratios: list[float],
                n_seeds: int, title: str, num_classes: int | None = None) -> str:
    """One markdown table per selection rule: a row per setting, (ours, paper, Δ) per ratio; then the test WGA at
    the ``best_val`` checkpoints (where ``table`` has it).

    ``settings`` maps each setting of the design to the attributes it sees; cells without runs read "not run",
    cells with fewer than ``n_seeds`` seeds say how many they hold and cells whose seeds collapsed to chance are
    marked (footnote: the rule with ``num_classes``'s chance level).
    """
    done = table.groupby(["setting", "ratio"])["n_seeds"].max().to_dict() if len(table) else {}
    missing = sum(n_seeds - int(done.get((s, r), 0)) for s in settings for r in ratios)
    lines = [f"# {title}", "",
             "Test GBA (%) over the 10×10 (digit, colour) cells of the unbiased test set, mean ± sample std over "
             f"{n_seeds} seeds. Paper values from {PAPER}; Δ = ours − paper. Generated by "
             "`dvc repro` from the run summaries in `runs/` (each names its MLflow run).", "",
             "Rows: `gerne_known` / `gerne_unknown` use the fixed c, β (t) of `params.yaml`; `gerne_tuned_*` use the "
             "grid point with the best validation GBA of the `sweep` (seed 0; points outside Eq. 9 skipped; choice in "
             "`runs/sweeps/cmnist/r<ratio>/gerne_tuned_<kind>/selected.json`), rerun with every seed. Test data never "
             "selects.", ""]
    if missing:
        lines += [f"**Incomplete: {missing} of {n_seeds * len(settings) * len(ratios)} runs are not in `runs/` yet** "
                  "(`dvc status` lists the stages still to run).", ""]
    header = ["setting", "paper row", "attributes"]
    for r in ratios:
        header += [f"{r} % ours", "paper", "Δ"]
    for selection in SELECTION_RULES:
        part = table[table["selection"] == selection]
        lines += [f"## Selection: {selection} — {SELECTION_RULES[selection]}", "",
                  *table_head(header)]
        for setting, attributes in settings.items():
            cells = [setting, targets["rows"].get(setting, {}).get("paper_row", "–"), attributes]
            for r in ratios:
                row = part[(part["setting"] == setting) & (part["ratio"] == r)]
                if row.empty:
                    cells += ["not run", mean_std(*_paper(targets, setting, r)), "–"]
                    continue
                x = row.iloc[0]
                delta = "–" if math.isnan(x["diff"]) else f"{x['diff']:+.2f}"
                cells += [_ours(x, n_seeds), mean_std(x["paper_mean"], x["paper_std"]), delta]
            lines.append(table_row(cells))
        lines += ["", *collapse_footnote_lines(part, num_classes)]
    if "wga_mean" in table:
        lines += wga_table(table[table["selection"] == "best_val"], settings, ratios, num_classes)
    return "\n".join(lines)


def _ours(x: pd.Series, n_seeds: int) -> str:
    """Our cell: mean ± std, how many seeds diverged or are missing, and the collapse mark."""
    notes = [f"{int(x['n_diverged'])} diverged"] if x["n_diverged"] else []
    if int(x["n_seeds"]) < n_seeds:
        notes.append(f"{int(x['n_seeds'])} of {n_seeds} seeds")
    return (mean_std(x["mean"], x["std"]) + (f" ({', '.join(notes)})" if notes else "")
            + collapse_note(int(x.get("n_collapsed", 0)), int(x["n_seeds"])))


def collapse_footnote_lines(part: pd.DataFrame, num_classes: int | None = None) -> list[str]:
    """The collapse footnote and a blank line, where ``part`` (one table's cells) has a collapsed seed."""
    marked = "n_collapsed" in part and bool(part["n_collapsed"].fillna(0).gt(0).any())
    return [collapse_footnote(num_classes), ""] if marked else []


def wga_table(best: pd.DataFrame, settings: dict[str, str], ratios: list[float],
              num_classes: int | None = None) -> list[str]:
    """Test WGA (%) at the ``best_val`` checkpoints, a row per setting and a column per ratio (``best``: the
    ``best_val`` rows of :func:`summarise`'s table); the paper's Table 1 has no WGA to compare."""
    lines = ["## Worst-group accuracy — best_val", "",
             "Test WGA (%): the lowest accuracy over the (digit, colour) groups of the unbiased test set, at the same "
             "checkpoints as the `best_val` GBA table above (mean ± sample std over seeds; the per-run values are in "
             "`metrics/cmnist_runs.csv`, the means in `metrics/headline.json`). The paper's Table 1 reports no WGA.",
             "", "| setting | attributes | " + " | ".join(f"{r} % WGA | GBA" for r in ratios) + " |",
             "|---|---|" + "---|---|" * len(ratios)]
    for setting, attributes in settings.items():
        cells = [setting, attributes]
        for r in ratios:
            row = best[(best["setting"] == setting) & (best["ratio"] == r)]
            if row.empty:
                cells += ["not run", "not run"]
                continue
            x = row.iloc[0]
            cells += [mean_std(x["wga_mean"], x["wga_std"]) + collapse_note(int(x.get("n_collapsed", 0)),
                                                                          int(x["n_seeds"])),
                      mean_std(x["mean"], x["std"])]
        lines.append(table_row(cells))
    return [*lines, "", *collapse_footnote_lines(best, num_classes)]


def _paper(targets: dict[str, Any], setting: str, ratio: float) -> tuple[float, float]:
    values = targets["rows"].get(setting, {}).get("values", {})
    return (float(values[ratio][0]), float(values[ratio][1])) if ratio in values else (math.nan, math.nan)


def headline(summary: pd.DataFrame, rows: Mapping[str, str], selection: str = "best_val",
             top: str = "cmnist") -> dict[str, Any]:
    """Table 1's headline for ``dvc metrics show`` / ``dvc exp show`` / ``dvc metrics diff`` (the whole table stays in
    ``reports/``): from Table 1's ``summary`` (each benchmark on its own metric, seed means in %), per label of
    ``rows`` (label → row) and column, the ``selection`` rule's value, e.g. ``{"known": {"r0.5": 77.79, "r1.0":
    84.47}}`` for the ``top`` benchmark (C-MNIST) and the same under the kind's name for any other (``{"ccifar10":
    {"known": ...}}``)."""
    out: dict[str, Any] = {}
    part = summary[summary["selection"] == selection].sort_values(["benchmark", "ratio"])
    for label, row in rows.items():
        for x in part[part["setting"] == row].itertuples():
            where = out if x.benchmark == top else out.setdefault(str(x.benchmark), {})
            where.setdefault(label, {})[f"r{x.ratio}"] = round(float(x.mean), 4)
    return out
