"""Every report writes its numbers and table lines through one formatter."""

from __future__ import annotations

import math

import pandas as pd

from pipeline.reports.render import mean_std, over_seeds, table_head, table_row


def test_a_mean_with_its_spread_or_alone() -> None:
    assert mean_std(81.234, 0.456) == "81.23 ± 0.46"
    assert mean_std(81.234, math.nan) == "81.23"  # one seed: no spread
    assert mean_std(math.nan, 1.0) == "–" and mean_std(math.nan, 1.0, missing="not run") == "not run"


def test_runs_over_seeds_in_percent_with_their_count() -> None:
    assert over_seeds(pd.Series([0.5, 0.7, None])) == "60.00 ± 14.14 (n = 2)"  # a missing value is not a run
    assert over_seeds(pd.Series([0.5])) == "50.00 (n = 1)"
    assert over_seeds(pd.Series([], dtype=float)) == "not run"


def test_table_lines() -> None:
    assert table_head(["a", "b"]) == ["| a | b |", "|---|---|"]
    assert table_row(["x", 1.5]) == "| x | 1.5 |"
