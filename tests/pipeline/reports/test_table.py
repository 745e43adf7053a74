"""Aggregation and Table 1 formatting on hand-made run tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from pipeline.reports.table import paper_targets, summarise, to_markdown, with_paper
from tests.conftest import REPO


def _summary(path: Path, test_gba: dict[str, float], diverged: bool = False,
             history: list[dict[str, float]] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    selections = {k: {"epoch": i + 1, "metric": k, "metrics": {"test_gba": v, "val_gba": 0.5}}
                  for i, (k, v) in enumerate(test_gba.items())}
    path.write_text(json.dumps({"selections": selections, "epochs_run": 3, "diverged": diverged,
                                "seconds_per_epoch": 1.0, "mlflow_run_id": f"id-{path.stem}",
                                **({"history": history} if history is not None else {})}))


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


def _flagged() -> pd.DataFrame:
    return pd.DataFrame({"selection": "best_val", "setting": ["reweight"] * 3 + ["resample"] * 3, "ratio": 0.5,
                         "test_gba": [0.25, 0.26, 0.27, 0.80, 0.81, 0.79], "test_wga": [0.0] * 3 + [0.4, 0.5, 0.45],
                         "diverged": False, "collapsed": [True, True, False, False, False, False]})


def test_summary_counts_collapsed_seeds_and_keeps_wga_beside_gba() -> None:
    table = summarise(_flagged()).set_index("setting")
    assert table.loc["reweight", "n_collapsed"] == 2 and table.loc["resample", "n_collapsed"] == 0
    assert table.loc["resample", "wga_mean"] == pytest.approx(45.0) and table.loc["resample", "wga_std"] == (
        pytest.approx(5.0))
    assert table.loc["resample", "mean"] == pytest.approx(80.0)  # GBA stays the table's own metric
    old = summarise(_flagged().drop(columns=["collapsed", "test_wga"]))  # a run table from before the flag
    assert (old["n_collapsed"] == 0).all() and "wga_mean" not in old


def test_markdown_marks_collapsed_cells_and_shows_wga_for_best_val() -> None:
    table = with_paper(summarise(_flagged()), paper_targets("cmnist"))
    md = to_markdown(table, paper_targets("cmnist"), {"reweight": "known", "resample": "known"}, [0.5], 3, "T", 10)
    assert "| reweight | – | known | 26.00 ± 1.00 † collapsed in 2/3 seeds | – | – |" in md
    assert md.count("† Collapsed: the run ended at chance") == 2  # under best_val's GBA table and the WGA table
    assert "(1/K = 10.00 %)" in md and "ln K = 2.303" in md
    assert "## Worst-group accuracy — best_val" in md
    assert "| resample | known | 45.00 ± 5.00 | 80.00 ± 1.00 |" in md
    assert "| reweight | known | 0.00 ± 0.00 † collapsed in 2/3 seeds | 26.00 ± 1.00 |" in md
    header = next(line for line in md.splitlines() if line.startswith("| setting | attributes | 0.5 % WGA"))
    assert header.count("|") == md.splitlines()[md.splitlines().index(header) + 1].count("|")


def test_labels_say_which_rows_are_tuned_and_cite_files_in_the_repository() -> None:
    for benchmark in ("cmnist", "ccifar10", "bffhq"):
        rows = paper_targets(benchmark)["rows"]
        tuned = {r for r, row in rows.items() if "(tuned)" in row.get("paper_row", "")}
        assert tuned == {"gerne_tuned_known", "gerne_tuned_unknown"}, benchmark
        assert "fixed c, β" in rows["gerne_known"]["paper_row"]
    md = to_markdown(with_paper(summarise(_flagged()), paper_targets("cmnist")), paper_targets("cmnist"),
                     {"gerne_known": "known"}, [0.5], 3, "T")
    assert "TARGETS.md" not in md and "`pipeline/reports/targets.yaml`" in md and "arXiv:2503.13236" in md
    assert (REPO / "pipeline/reports/targets.yaml").is_file()
