"""The Datasets-2 benchmarks (Waterbirds, CelebA, CivilComments) by name: raw sources and preparation.

Add a benchmark by writing its module (``SOURCES``, ``PUBLISHED_COUNTS``, ``prepare``) and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

from gerne.data import celeba, civilcomments, waterbirds
from gerne.data.counts import Prepared
from gerne.data.sources import Source
from gerne.errors import ConfigError


@dataclass(frozen=True)
class DatasetEntry:
    """A benchmark's raw files, its ``prepare(raw_dir, out_dir, **options)`` and its published group counts."""

    name: str
    sources: tuple[Source, ...]
    prepare: Callable[..., Prepared]
    published_counts: Mapping[str, Mapping[str, int]] | None
    fetch_hint: str = ""  # appended to download errors (what to do when the canonical source refuses)


def _entry(name: str, module: ModuleType) -> DatasetEntry:
    return DatasetEntry(name, tuple(module.SOURCES), module.prepare, module.PUBLISHED_COUNTS,
                        getattr(module, "FETCH_HINT", ""))


DATASETS2: dict[str, DatasetEntry] = {
    name: _entry(name, module)
    for name, module in (("waterbirds", waterbirds), ("celeba", celeba), ("civilcomments", civilcomments))
}


def get_dataset(name: str) -> DatasetEntry:
    """The registry entry of ``name``; a ConfigError lists the known names."""
    try:
        return DATASETS2[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS2)}") from None
