"""bFFHQ (biased FFHQ, DFA's release): y = age (0 young, 1 old), a = gender; majorities young women, old men.

The release folder ``bffhq/`` holds ``0.5pct/align/<class>/*`` and ``0.5pct/conflict/<class>/*`` (training),
``valid/`` and ``test/`` (image files directly or in class folders). Every file is named ``<id>_<age>_<gender>.<ext>``:
label = second-to-last field, bias = last field. The metric is accuracy on the bias-conflicting test images
(label ≠ bias: ``test_conflicting_acc``). DFA's ``valid/`` is biased like train, so a validation metric sees few
conflicting images. The counts are recorded as found (the sizes quoted for the release are unverified).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gerne.data import dfa
from gerne.data.counts import Counts, Prepared
from gerne.data.images import prepare_images
from gerne.data.sources import Source

NAME = "bffhq"
FOLDER = "bffhq"
# DFA shares bFFHQ as a Google Drive folder. This is the Drive file id public debiasing code downloads
# bffhq.tar.gz from (a tarball of DFA's bffhq/). It was not checked against DFA's folder from here (no internet):
# no MD5 is known, so the SHA-256 is recorded, and read_release refuses a tree that is not DFA's layout and coding.
SOURCES = (Source(f"{FOLDER}.tar.gz", gdrive_id="1hRmeIxhoa6YsyAm2LUPqa7nY1KtOpp6G", extract=True),)
PUBLISHED_COUNTS = None
NUM_CLASSES = NUM_ATTRIBUTES = 2
TRANSFORM = "resize"
FETCH_HINT = (" To fix (Google Drive often refuses scripted downloads: quota): download the bffhq folder of DFA's "
              "release (the Google Drive link in the README of kakaoenterprise/Learning-Debiased-Disentangled) and "
              f"name the directory (the pipeline: `mirrors:` in local.yaml) holding `{FOLDER}/` (or an archive "
              f"{FOLDER}.tar.gz of it).")
_FIX = "the release folder is incomplete or not DFA's bFFHQ: download it again (README: bFFHQ)"


def minority_percent(**_: object) -> float:
    """The release's bias-conflicting share per class (its ``0.5pct`` folder): the unit of t here."""
    return 0.5


def release_dir(raw_dir: str | os.PathLike[str]) -> Path:
    """``raw_dir`` itself when it holds ``0.5pct/``, else the first ``bffhq/`` folder below it that does."""
    return dfa.release_dir(raw_dir, FOLDER, "0.5pct", _FIX)


def read_release(raw_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The contract table (``id, filename, split, y, a`` plus ``part``: align, conflict, valid, test) of the release;
    an aligned file must have label = bias and a conflicting one label ≠ bias."""
    return dfa.read_release(release_dir(raw_dir), dfa.parts_of("0.5pct", "valid"), NUM_CLASSES, _FIX)


def prepare(raw_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, image_size: int = 224,
            expected_counts: Counts | None = None, workers: int | None = None) -> Prepared:
    """The release under ``raw_dir`` resized to ``image_size``² (DFA: 224) into ``out_dir``; its counts are
    checked against ``expected_counts`` when given."""
    table = read_release(raw_dir)
    return prepare_images(table, release_dir(raw_dir), out_dir, transform=TRANSFORM, image_size=image_size,
                          num_classes=NUM_CLASSES, num_attributes=NUM_ATTRIBUTES, dataset=NAME, workers=workers,
                          expected_counts=expected_counts)
