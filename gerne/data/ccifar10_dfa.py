"""C-CIFAR-10 as DFA released it (the alternative to building it here, kind ``ccifar10``): DFA's ``cifar10c/`` folder
tree of 32 px PNGs, ``<pct>/{align,conflict}/<class>/``, ``<pct>/valid/<class>/`` and ``test/<class>/``, files named
``<id>_<label>_<bias>.png`` (:mod:`gerne.data.dfa`). Its split, corruption constants and validation set are DFA's,
not ours, so its numbers sit beside the built kind's rather than replace them.
"""

from __future__ import annotations

import os

from gerne.data import dfa
from gerne.data.counts import Counts, Prepared
from gerne.data.images import prepare_images
from gerne.data.sources import Source
from gerne.errors import ConfigError

NAME = "ccifar10_dfa"
BENCHMARK = "ccifar10"  # Table 1's C-CIFAR-10 column, like the built kind
FOLDER = "cifar10c"
SOURCES = (Source(f"{FOLDER}.tar.gz", extract=True),)  # DFA shares it as a Google Drive folder only
PUBLISHED_COUNTS = None
NUM_CLASSES = NUM_ATTRIBUTES = 10
RATIOS = (0.5, 1.0, 2.0, 5.0)
FETCH_HINT = (" To fix: download the cifar10c folder of DFA's release (Google Drive folder "
              "1JEOqxrhU_IhkdcRohdbuEtFETUxfNmNT, linked from the README of "
              "kakaoenterprise/Learning-Debiased-Disentangled) and name the directory "
              "(the pipeline: `mirrors:` in local.yaml) "
              f"holding `{FOLDER}/` (or an archive {FOLDER}.tar.gz of it).")
_FIX = "the release folder is incomplete or not DFA's cifar10c: download it again (README: C-CIFAR-10)"


def minority_percent(*, ratio: float, **_: object) -> float:
    """The release folder's bias-conflicting share per class: the unit of t here."""
    return ratio


def pct_folder(ratio: float) -> str:
    """DFA's folder of a ratio: ``0.5pct``, ``1pct``, ``2pct``, ``5pct``."""
    if float(ratio) not in RATIOS:
        raise ConfigError(f"DFA's cifar10c release has the ratios {list(RATIOS)} (%), not {ratio}")
    return f"{float(ratio):g}pct"


def prepare(raw_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, ratio: float,
            expected_counts: Counts | None = None, workers: int | None = None) -> Prepared:
    """The ``ratio`` % training and validation folders and the shared test folder into ``out_dir`` (32 px)."""
    pct = pct_folder(ratio)
    root = dfa.release_dir(raw_dir, FOLDER, pct, _FIX)
    table = dfa.read_release(root, dfa.parts_of(pct, f"{pct}/valid"), NUM_CLASSES, _FIX)
    return prepare_images(table, root, out_dir, transform="resize", image_size=32, num_classes=NUM_CLASSES,
                          num_attributes=NUM_ATTRIBUTES, dataset=NAME, workers=workers,
                          expected_counts=expected_counts)
