"""Aggregation and Table 1 formatting on hand-made run tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from gerne.errors import DataError
from pipeline.reports.aggregate import collect, summary_path
from pipeline.reports.table import paper_targets, summarise, to_markdown, with_paper


def _summary(path: Path, test_gba: dict[str, float], diverged: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    selections = {k: {"epoch": i + 1, "metric": k, "metrics": {"test_gba": v, "val_gba": 0.5}}
                  for i, (k, v) in enumerate(test_gba.items())}
    path.write_text(json.dumps({"selections": selections, "epochs_run": 3, "diverged": diverged,
                                "seconds_per_epoch": 1.0, "mlflow_run_id": f"id-{path.stem}"}))


def test_collect_reads_only_the_current_design(tmp_path: Path) -> None:
    for seed, v in ((0, 0.70), (1, 0.80)):
        _summary(summary_path(tmp_path, "r0.5", "resample", seed), {"best_val": v, "last": v - 0.1})
    _summary(summary_path(tmp_path, "r0.5", "resample", 7), {"best_val": 0.0})  # stale run of an older design
    runs = collect(tmp_path, [("cmnist", 0.5, "r0.5")], ["resample"], [0, 1])
    assert sorted(runs["seed"].unique()) == [0, 1]
    assert set(runs["selection"]) == {"best_val", "last"}
    assert runs.loc[runs["selection"] == "best_val", "mlflow_run_id"].tolist() == ["id-seed0", "id-seed1"]
    with pytest.raises(DataError, match=r"seed2\.json"):
        collect(tmp_path, [("cmnist", 0.5, "r0.5")], ["resample"], [0, 1, 2])
    partial = collect(tmp_path, [("cmnist", 0.5, "r0.5")], ["resample"], [0, 1, 2], allow_missing=True)
    assert sorted(partial["seed"].unique()) == [0, 1]


def test_mean_std_paper_and_difference() -> None:
    runs = pd.DataFrame({"selection": "best_val", "setting": "resample", "ratio": 0.5,
                         "test_gba": [0.70, 0.80, 0.75], "diverged": [False, False, True]})
    table = with_paper(summarise(runs), paper_targets("cmnist"))
    row = table.iloc[0]
    assert row["mean"] == pytest.approx(75.0) and row["std"] == pytest.approx(5.0)  # sample std, ddof = 1
    assert row["paper_mean"] == 77.68 and row["diff"] == pytest.approx(75.0 - 77.68)
    assert row["n_seeds"] == 3 and row["n_diverged"] == 1


def test_markdown_labels_selection_and_marks_missing_cells() -> None:
    runs = pd.DataFrame({"selection": ["best_val", "best_val"], "setting": ["erm_vanilla"] * 2, "ratio": [0.5, 5.0],
                         "test_gba": [0.30, 0.80], "diverged": [False, False]})
    table = with_paper(summarise(runs), paper_targets("cmnist"))
    md = to_markdown(table, paper_targets("cmnist"), {"erm_vanilla": "none", "resample": "known", "erm": "none"},
                     [0.5, 1.0, 5.0], 1, "T")
    assert "## Selection: best_val — epoch with the best validation GBA" in md
    assert ("| erm_vanilla | ERM (DFA's Vanilla, via LC) | none | 30.00 | 35.19 ± 3.49 | -5.19 | not run | "
            "52.09 ± 2.88 | – | 80.00 | 82.17 ± 0.74 | -2.17 |") in md
    assert "| erm | – (class-balanced ERM; the paper's ERM row is erm_vanilla's) | none | not run | – | – |" in md
    assert "| resample | GERNE (c = 1, β = 0) | known | not run |" in md
    assert "**Incomplete: 7 of 9 runs" in md
    assert math.isnan(table.iloc[0]["std"])
    header = next(line for line in md.splitlines() if line.startswith("| setting"))
    delimiter = md.splitlines()[md.splitlines().index(header) + 1]
    assert header.count("|") == delimiter.count("|")  # a valid markdown table


def test_unknown_setting_has_no_paper_value() -> None:
    runs = pd.DataFrame({"selection": "last", "setting": "mine", "ratio": 0.5, "test_gba": [0.5, 0.6],
                         "diverged": False})
    table = with_paper(summarise(runs), paper_targets("cmnist"))
    assert math.isnan(table.iloc[0]["paper_mean"]) and math.isnan(table.iloc[0]["diff"])
