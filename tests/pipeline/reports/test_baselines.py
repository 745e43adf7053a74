"""reports/baselines.md from a Table 1 CSV, an aggregate run table and SW run summaries written here: Δ to the
copied rows under the copied row's selection, cells not run, SW's variance from the squares in its history."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.reports.baselines import build, loss_variance, vanilla_gap, vanilla_section
from pipeline.reports.table import paper_targets


def _table() -> pd.DataFrame:
    rows = []
    for setting, base in (("erm_vanilla", 40.0), ("gerne_known", 78.0), ("sw_known", 76.0)):
        for selection, shift in (("best_val", 0.0), ("last", -1.0), ("oracle", 2.0)):
            rows.append({"selection": selection, "setting": setting, "ratio": 0.5, "mean": base + shift, "std": 1.0,
                         "n_seeds": 3 if setting != "sw_known" else 2, "n_diverged": 0})
    return pd.DataFrame(rows)


def _runs() -> pd.DataFrame:
    return pd.DataFrame([{"setting": s, "selection": "last", "seconds_per_epoch": 2.0, "epochs_run": e}
                         for s, e in (("erm_vanilla", 100), ("erm_vanilla", 50), ("gerne_known", 65))])


def _sw_summary(folder: Path, seed: int, values: list[tuple[float, float, float, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    history = [{"epoch": i + 1, "loss_sw": sw, "loss_sw_sq": sw_sq, "loss_ext": ext, "loss_ext_sq": ext_sq}
               for i, (sw, sw_sq, ext, ext_sq) in enumerate(values)]
    (folder / f"seed{seed}.json").write_text(json.dumps({"history": history}))


def test_the_report_puts_each_baseline_beside_its_copied_row(tmp_path: Path) -> None:
    targets = paper_targets("cmnist")
    rows = {"erm_vanilla": {"label": "erm", "paper_selection": "oracle", "targets": targets["rows"]["erm_vanilla"]},
            "groupdro": {"label": "groupdro", "paper_selection": "best_val", "targets": targets["rows"]["groupdro"]}}
    _sw_summary(tmp_path / "r0.5" / "sw_known", 0, [(1.0, 1.5, 1.0, 2.0), (0.5, 0.35, 0.5, 0.5)])
    _sw_summary(tmp_path / "r0.5" / "sw_known", 1, [(1.0, 1.1, 1.0, 1.4)])
    md = build(_table(), _runs(), rows, targets["copied"], {0.5: tmp_path / "r0.5", 1.0: tmp_path / "r1.0"},
               "sw_known", 3)
    # ours under the copied row's rule (oracle: 42.00) beside the copied 35.19, and under validation selection
    assert ("| `erm_vanilla` (erm) | ERM (DFA's Vanilla, via LC) | oracle (the copied row's rule) | 42.00 ± 1.00 "
            "(copied 35.19 ± 3.49, Δ +6.81) | not run (copied 52.09 ± 2.88) |") in md
    assert "| best_val | 40.00 ± 1.00 (copied 35.19 ± 3.49, Δ +4.81) |" in md
    assert ("| `groupdro` (groupdro) | Group DRO (via LC, no std) | best_val (the copied row's rule) | "
            "not run (copied 63.12) |") in md
    assert "| DFA | DFA, via LC | 65.22 ± 4.41 |" in md and "| JTT |" not in md  # JTT is trained here
    assert "| 0.5 | best_val | 78.00 ± 1.00 | 76.00 ± 1.00 | -2.00 |" in md
    # variance per interval = mean of squares − square of mean, averaged over intervals, then seeds
    var_sw, var_ext = ((0.5 + 0.1) / 2 + 0.1) / 2, ((1.0 + 0.25) / 2 + 0.4) / 2
    assert f"| 0.5 | 2 | {0.875:.4f} | {0.875:.4f} | {var_sw:.3e} | {var_ext:.3e} | {var_ext / var_sw:.2f} |" in md
    assert "| 1 | 0 | not run |" in md
    assert "| `erm_vanilla` | 2 | 150 (100–200) | 24.0 |" in md and "| `groupdro` | 0 | – | – |" in md


def test_loss_variance_is_nan_without_the_squares() -> None:
    assert loss_variance({"history": [{"loss_sw": 1.0, "loss_sw_sq": 1.25}]}, "loss_sw") == pytest.approx(0.25)
    assert loss_variance({"history": [{"loss": 1.0}]}, "loss_sw") != loss_variance({"history": []}, "loss_sw")


def test_vanilla_section_answers_whether_the_paper_protocol_lands_near_the_copied_row() -> None:
    lines = vanilla_section(_table(), "erm_vanilla", paper_targets("cmnist"), [0.5, 1.0], 2.0)
    assert "| 0.5 | 42.00 ± 1.00 | 40.00 ± 1.00 | 35.19 ± 3.49 | +6.81 | **no** |" in lines
    assert lines[-1].startswith("| 1 | not run |")


def test_vanilla_gap_states_the_side_and_the_range_from_the_table() -> None:
    table = _table()
    erm = table[table["setting"] == "erm_vanilla"].assign(setting="erm", mean=lambda t: t["mean"] - 20.0)
    text = vanilla_gap(pd.concat([table, erm]), "erm_vanilla", paper_targets("cmnist"), [0.5, 1.0])
    assert "lies above it at the 1 ratios trained (Δ +6.81 to +6.81 points)" in text
    assert "differs by +20.00 to +20.00 points" in text
    none_yet = vanilla_gap(table.iloc[0:0], "erm_vanilla", paper_targets("cmnist"), [0.5])
    assert none_yet == "No run of it has finished yet."


def test_a_baseline_whose_seeds_collapsed_is_marked_with_the_rule() -> None:
    table = pd.concat([_table().assign(n_collapsed=0),
                       pd.DataFrame([{"selection": "best_val", "setting": "reweight", "ratio": 0.5, "mean": 25.54,
                                      "std": 1.59, "n_seeds": 3, "n_diverged": 0, "n_collapsed": 3}])])
    rows = {"reweight": {"label": "reweight", "paper_selection": "best_val", "targets": {}}}
    md = build(table, _runs(), rows, {}, {0.5: Path("r0.5")}, None, 3)
    assert "| `reweight` (reweight) | – | best_val | 25.54 ± 1.59 † collapsed in 3/3 seeds |" in md
    assert "† Collapsed: the run ended at chance" in md and "`gerne/health.py`" in md
    assert "†" not in build(_table(), _runs(), rows, {}, {0.5: Path("r0.5")}, None, 3)  # no flag, no footnote
