"""Dataset kinds by name: where a kind's raw files come from and how they become the dataset contract.

A kind is a module with ``SOURCES`` (raw files to fetch and verify; empty when the data is read in place),
``PUBLISHED_COUNTS`` (group counts asserted after preparation, or None) and ``prepare(raw_dir, out_dir,
**options)``. Add a kind by writing its module and one line in ``KINDS``; ``params.yaml`` then declares datasets of
that kind under ``datasets`` (``cmnist`` builds C-MNIST at the ratio its ``prepare`` options name; the committed
Table 1 column has its own stages).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

from gerne.data import bffhq, ccifar10, ccifar10_dfa, celeba, civilcomments, cmnist, own, waterbirds
from gerne.data.counts import Prepared
from gerne.data.sources import Source
from gerne.errors import ConfigError


@dataclass(frozen=True)
class DatasetEntry:
    """A kind's raw files, its ``prepare(raw_dir, out_dir, **options)``, its published counts and its module."""

    name: str
    sources: tuple[Source, ...]
    prepare: Callable[..., Prepared]
    published_counts: Mapping[str, Mapping[str, int]] | None
    module: str  # the file a pipeline stage depends on, e.g. gerne/data/waterbirds.py
    fetch_hint: str = ""  # appended to download errors (what to do when the canonical source refuses)
    fetch: Callable[..., dict[str, str]] | None = None  # its own fetch(raw_dir, mirror) instead of SOURCES
    minority_percent: Callable[..., float] | None = None  # (**prepare options) -> bias-conflicting % per class:
    # the unit of t where the kind defines one (C-MNIST: its ratio), else t is an absolute share
    benchmark: str = ""  # the benchmark its data is (Table 1's column): the kind's name unless it says otherwise
    num_classes: int | None = None  # its module's NUM_CLASSES where fixed by the kind (None: the data decide)

    @property
    def read_in_place(self) -> bool:
        """True when there is nothing to fetch: the declared folder is prepared as it is (kind ``own``)."""
        return not self.sources and self.fetch is None


def _entry(name: str, module: ModuleType) -> DatasetEntry:
    return DatasetEntry(name, tuple(getattr(module, "SOURCES", ())), module.prepare,
                        getattr(module, "PUBLISHED_COUNTS", None), f"gerne/data/{module.__name__.rsplit('.', 1)[1]}.py",
                        getattr(module, "FETCH_HINT", ""), getattr(module, "fetch", None),
                        getattr(module, "minority_percent", None), getattr(module, "BENCHMARK", name),
                        getattr(module, "NUM_CLASSES", None))


KINDS: dict[str, DatasetEntry] = {
    name: _entry(name, module)
    for name, module in (("cmnist", cmnist), ("ccifar10", ccifar10), ("ccifar10_dfa", ccifar10_dfa), ("bffhq", bffhq),
                         ("waterbirds", waterbirds), ("celeba", celeba), ("civilcomments", civilcomments),
                         ("own", own))
}


def benchmark_classes(benchmark: str) -> int | None:
    """The number of classes of ``benchmark``'s kinds (None when no kind of it fixes one, or they disagree)."""
    found = {e.num_classes for e in KINDS.values() if e.benchmark == benchmark}
    return found.pop() if len(found) == 1 else None


def get_dataset(kind: str) -> DatasetEntry:
    """The registry entry of ``kind``; a ConfigError lists the known kinds."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown dataset kind {kind!r}; choose one of {sorted(KINDS)}") from None
