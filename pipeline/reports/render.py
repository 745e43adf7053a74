"""How every report writes a number: one formatter for a mean ± sample std over seeds, for the spread of a column of
runs, and for a Markdown table's lines, so that every table of ``reports/`` reads the same way."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd


def mean_std(mean: float, std: float, missing: str = "–") -> str:
    """``81.23 ± 0.45``; the mean alone where there is no spread (one seed); ``missing`` where there is no mean."""
    if math.isnan(mean):
        return missing
    return f"{mean:.2f} ± {std:.2f}" if not math.isnan(std) else f"{mean:.2f}"


def over_seeds(values: pd.Series) -> str:
    """A column of per-run fractions as ``mean ± std (n = k)`` in %; ``not run`` where no run has a value."""
    v = values.dropna() * 100.0
    if v.empty:
        return "not run"
    return f"{mean_std(v.mean(), v.std() if len(v) > 1 else math.nan)} (n = {len(v)})"


def table_head(header: Iterable[str]) -> list[str]:
    """The first two lines of a Markdown table: the header and its delimiter."""
    header = [str(h) for h in header]
    return [table_row(header), "|" + "---|" * len(header)]


def table_row(cells: Iterable[object]) -> str:
    """One line of a Markdown table."""
    return "| " + " | ".join(str(c) for c in cells) + " |"
