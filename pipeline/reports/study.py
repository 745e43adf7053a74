"""Table 1's view of the design: its study's columns (one declared dataset per minority share) and rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gerne.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.config import Params



@dataclass(frozen=True)
class Column:
    """One Table 1 column: a declared dataset, its bias-conflicting share (%), its folder under runs/ and its
    benchmark (its kind's registry ``benchmark``: cmnist, ccifar10, bffhq, ...)."""

    dataset: str
    ratio: float
    folder: str
    benchmark: str


def columns(p: Params, study: str) -> list[Column]:
    """The columns of ``study`` (report: table1), in its order."""
    table = p.studies.tables.get(study)
    if table is None or table.report != "table1":
        raise ConfigError(f"studies.tables has no study '{study}' with report: table1")
    from gerne.data.registry import get_dataset

    return [Column(name, float(p.datasets[name].minority_percent()), p.datasets[name].dir or name,
                   get_dataset(p.datasets[name].kind).benchmark) for name in table.datasets]


def row_attributes(p: Params, study: str) -> dict[str, str]:
    """The rows of ``study`` in order, with the attributes each row's method sees (known, none, pseudo)."""
    return {row: p.studies.rows[row].grouping.label for row in p.studies.tables[study].rows}
