"""bFFHQ from DFA's folder layout: labels from file names, the align/conflict folders checked against them, the
release copied from a mirror folder, Google Drive when no mirror is set, and a clear refusal with the manual route."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gerne.data import bffhq
from gerne.data.fetch import fetch_sources
from gerne.errors import DataError
from tests.data import test_download
from tests.data.fixtures import bffhq_release
from tests.data.test_download import Server

server = test_download.server  # the local HTTP server fixture


def test_release_is_read_with_labels_from_file_names(tmp_path: Path) -> None:
    _, counts = bffhq_release(tmp_path)
    table = bffhq.read_release(tmp_path)
    assert len(table) == 22 and list(table["id"]) == list(range(22))
    assert table.groupby("part").size().to_dict() == {"align": 9, "conflict": 2, "valid": 5, "test": 6}
    row = table[table["filename"].str.startswith("0.5pct/conflict/0/")].iloc[0]
    assert (row["y"], row["a"], row["split"]) == (0, 1, "train")
    done = bffhq.prepare(tmp_path, tmp_path / "out", image_size=16, expected_counts=counts, workers=1)
    assert done.counts == counts and np.load(tmp_path / "out" / "images.npy").shape == (22, 16, 16, 3)
    assert bffhq.minority_percent() == 0.5


def test_a_file_in_the_wrong_folder_or_badly_named_is_refused(tmp_path: Path) -> None:
    folder, _ = bffhq_release(tmp_path)
    stray = folder / "0.5pct/align/0/99_0_1.png"
    shutil.copy(next((folder / "test").iterdir()), stray)
    with pytest.raises(DataError, match=r"99_0_1.png: a file in align/ with label 0 and bias 1"):
        bffhq.read_release(tmp_path)
    stray.rename(folder / "valid/photo.png")
    with pytest.raises(DataError, match="<id>_<label>_<bias>"):
        bffhq.read_release(tmp_path)
    (folder / "valid/photo.png").unlink()
    shutil.rmtree(folder / "test")
    with pytest.raises(DataError, match="test holds no images"):
        bffhq.read_release(tmp_path)
    with pytest.raises(DataError, match=r"no bffhq/ release folder holding 0\.5pct/"):
        bffhq.read_release(tmp_path / "elsewhere")


def test_fetched_from_a_mirror_folder_or_refused_with_the_download_hint(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    bffhq_release(mirror)
    digests = fetch_sources(list(bffhq.SOURCES), tmp_path / "raw", mirror, bffhq.FETCH_HINT)
    assert digests["bffhq.tar.gz"].startswith("sha256-tree:")
    assert len(bffhq.read_release(tmp_path / "raw")) == 22
    assert bffhq.SOURCES[0].gdrive_id  # without a mirror: Google Drive, through gerne.data.gdrive


def test_google_drive_then_extracted_or_refused_with_the_manual_route(tmp_path: Path, server: Server,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror: the tarball comes from Google Drive (a local server answering like it), is extracted and read;
    a quota page ends in the manual route (DFA's Drive link, `mirror`)."""
    from gerne.data import gdrive
    from tests.data.fixtures import tar_folder
    from tests.data.test_gdrive import QUOTA_PAGE

    folder, _ = bffhq_release(tmp_path / "release")
    archive = tar_folder(folder, tmp_path / "bffhq.tar.gz")
    monkeypatch.setattr(gdrive, "GDRIVE_URL", server.base + "download")
    first = f"/download?id={bffhq.SOURCES[0].gdrive_id}&export=download&confirm=t"
    server.files[first] = archive.read_bytes()
    digests = fetch_sources(list(bffhq.SOURCES), tmp_path / "raw", None, bffhq.FETCH_HINT, retries=1)
    assert digests["bffhq.tar.gz"].startswith("sha256:") and len(bffhq.read_release(tmp_path / "raw")) == 22
    server.files[first] = QUOTA_PAGE.encode()
    with pytest.raises(DataError, match=r"(?s)Quota exceeded.*Learning-Debiased-Disentangled.*mirror"):
        fetch_sources(list(bffhq.SOURCES), tmp_path / "raw2", None, bffhq.FETCH_HINT, retries=1)
    assert not (tmp_path / "raw2" / "bffhq.tar.gz").exists()
