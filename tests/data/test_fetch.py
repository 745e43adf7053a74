"""fetch_sources end to end: local HTTP server (downloads, Drive), mirror files and folders, verification."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest

from gerne.data import gdrive
from gerne.data.archive import MARKER
from gerne.data.fetch import extracted_dir, fetch_sources, tree_digest
from gerne.data.sources import Source
from gerne.errors import DataError
from tests.data import test_download
from tests.data.test_archive import WB, jpeg, make_tar, tar_member, waterbirds_members
from tests.data.test_download import UNREACHABLE, Server

server = test_download.server  # the local HTTP server fixture
HINT = " HINT: set the dataset's mirror parameter."


@pytest.fixture
def wb_archive(tmp_path: Path) -> bytes:
    return make_tar(tmp_path / "built.tar.gz", waterbirds_members()).read_bytes()


def wb_source(data: bytes, base: str, md5: bool = True, size: bool = True) -> Source:
    return Source(
        name=f"{WB}.tar.gz",
        urls=(f"{base}{WB}.tar.gz",),
        size=len(data) if size else None,
        md5=hashlib.md5(data).hexdigest() if md5 else None,
        extract=True,
    )


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_download_verify_extract_then_reuse(server: Server, tmp_path: Path, wb_archive: bytes) -> None:
    server.files[f"/{WB}.tar.gz"] = wb_archive
    source = wb_source(wb_archive, server.base)
    raw = tmp_path / "raw"
    assert fetch_sources([source], raw, None) == {source.name: "md5:" + hashlib.md5(wb_archive).hexdigest()}
    assert (raw / WB / "metadata.csv").read_bytes() == waterbirds_members()[f"{WB}/metadata.csv"]
    assert listing(raw) == sorted([source.name, WB])
    n_requests = len(server.requests)
    assert fetch_sources([source], raw, None)[source.name].startswith("md5:")
    assert len(server.requests) == n_requests


def test_unknown_checksum_is_computed(server: Server, tmp_path: Path) -> None:
    csv = b"id,comment_text,toxicity,male\n1,hello,0.0,0.0\n"
    server.files["/all_data_with_identities.csv"] = csv
    source = Source("all_data_with_identities.csv", urls=(server.base + "all_data_with_identities.csv",))
    digests = fetch_sources([source], tmp_path, None)
    assert digests == {source.name: "sha256:" + hashlib.sha256(csv).hexdigest()}


def test_truncated_download_resumes_with_range(server: Server, tmp_path: Path, wb_archive: bytes) -> None:
    server.files[f"/{WB}.tar.gz"] = wb_archive
    server.truncate_next = 1
    fetch_sources([wb_source(wb_archive, server.base)], tmp_path, None, retries=2)
    assert [r for _, r in server.requests] == [None, f"bytes={len(wb_archive) // 3}-"]
    assert (tmp_path / WB / "metadata.csv").is_file()


@pytest.mark.parametrize("wrong", ["size", "md5"])
def test_size_or_checksum_mismatch(server: Server, tmp_path: Path, wb_archive: bytes, wrong: str) -> None:
    server.files[f"/{WB}.tar.gz"] = wb_archive
    good = wb_source(wb_archive, server.base)
    bad = Source(good.name, good.urls, good.size + (wrong == "size"), "0" * 32 if wrong == "md5" else good.md5, None,
                 True)
    match = "has .* bytes, expected" if wrong == "size" else "MD5 of its bytes is"
    with pytest.raises(DataError, match=match) as info:
        fetch_sources([bad], tmp_path / "raw", None, HINT)
    assert good.urls[0] in str(info.value) and str(info.value).endswith(HINT)
    assert listing(tmp_path / "raw") == []


def test_next_url_after_corrupt_one(server: Server, tmp_path: Path, wb_archive: bytes) -> None:
    server.files[f"/bad/{WB}.tar.gz"] = wb_archive[:-10] + bytes(10)
    server.files[f"/{WB}.tar.gz"] = wb_archive
    source = wb_source(wb_archive, server.base)
    source = Source(source.name, (UNREACHABLE + source.name, f"{server.base}bad/{source.name}", *source.urls),
                    source.size, source.md5, None, True)
    fetch_sources([source], tmp_path, None, retries=1)
    assert (tmp_path / source.name).read_bytes() == wb_archive


def test_corrupt_existing_file_is_replaced(server: Server, tmp_path: Path, wb_archive: bytes) -> None:
    server.files[f"/{WB}.tar.gz"] = wb_archive
    (tmp_path / f"{WB}.tar.gz").write_bytes(b"stale partial copy")
    fetch_sources([wb_source(wb_archive, server.base)], tmp_path, None)
    assert (tmp_path / f"{WB}.tar.gz").read_bytes() == wb_archive


def test_unsafe_archive_without_checksum_is_deleted(server: Server, tmp_path: Path) -> None:
    data = make_tar(tmp_path / "evil.tar.gz", waterbirds_members(), extra=(tar_member("../evil"),)).read_bytes()
    server.files[f"/{WB}.tar.gz"] = data
    raw = tmp_path / "raw"
    with pytest.raises(DataError, match=r"'\.\./evil'.*not a genuine release.*was deleted") as info:
        fetch_sources([wb_source(data, server.base, md5=False, size=False)], raw, None, HINT)
    assert server.base in str(info.value) and str(info.value).endswith(HINT)
    assert listing(raw) == [] and not (tmp_path / "evil").exists()


def test_mirror_archive_is_verified_and_extracted(tmp_path: Path, wb_archive: bytes) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / f"{WB}.tar.gz").write_bytes(wb_archive)
    source = wb_source(wb_archive, UNREACHABLE)  # never contacted: a mirror means no download
    digests = fetch_sources([source], tmp_path / "raw", mirror)
    assert digests[source.name] == "md5:" + hashlib.md5(wb_archive).hexdigest()
    assert (tmp_path / "raw" / WB / "metadata.csv").is_file()
    (mirror / f"{WB}.tar.gz").write_bytes(wb_archive[:100])
    (tmp_path / "raw" / f"{WB}.tar.gz").unlink()
    (tmp_path / "raw" / WB / MARKER).unlink()
    with pytest.raises(DataError, match=r"mirror file .*mirror.*corrupt or truncated"):
        fetch_sources([source], tmp_path / "raw", mirror)


def test_mirror_folder_kaggle_celeba_layout(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    images = mirror / "img_align_celeba" / "img_align_celeba"  # the Kaggle archive nests the folder twice
    images.mkdir(parents=True)
    for i in range(1, 4):
        (images / f"{i:06d}.jpg").write_bytes(jpeg(i))
    attr = b"image_id,5_o_Clock_Shadow,Blond_Hair,Male\n000001.jpg,-1,1,-1\n"
    (mirror / "list_attr_celeba.csv").write_bytes(attr)  # Kaggle's variant of list_attr_celeba.txt
    (mirror / "list_eval_partition.txt").write_bytes(b"000001.jpg 0\n")
    sources = [Source("img_align_celeba.zip", gdrive_id="unused", md5="0" * 32, extract=True),
               Source("list_attr_celeba.txt", gdrive_id="unused", md5="1" * 32), Source("list_eval_partition.txt")]
    raw = tmp_path / "raw"
    digests = fetch_sources(sources, raw, mirror)
    assert sorted(digests) == ["img_align_celeba.zip", "list_attr_celeba.csv", "list_eval_partition.txt"]
    assert digests["list_attr_celeba.csv"] == "sha256:" + hashlib.sha256(attr).hexdigest()
    assert (raw / "list_attr_celeba.csv").read_bytes() == attr
    unpacked = extracted_dir(sources[0], raw)
    assert unpacked == raw / "img_align_celeba"
    assert listing(unpacked) == sorted([MARKER, "000001.jpg", "000002.jpg", "000003.jpg"])
    assert (unpacked / "000002.jpg").read_bytes() == jpeg(2)
    assert digests["img_align_celeba.zip"] == tree_digest(unpacked) == tree_digest(images)
    assert digests["img_align_celeba.zip"].startswith("sha256-tree:")
    reused = fetch_sources([sources[0], sources[2]], raw, None)  # no mirror, no download needed
    assert reused == {name: digests[name] for name in ("img_align_celeba.zip", "list_eval_partition.txt")}


def test_mirror_missing_file_names_both_forms(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    source = Source("img_align_celeba.zip", gdrive_id="x", extract=True)
    with pytest.raises(DataError, match=r"neither img_align_celeba\.zip nor its extracted folder img_align_celeba/"):
        fetch_sources([source], tmp_path / "raw", tmp_path / "mirror", HINT)
    with pytest.raises(DataError, match=r"list_eval_partition\.txt is missing.*HINT"):
        fetch_sources([Source("list_eval_partition.txt")], tmp_path / "raw", tmp_path / "mirror", HINT)


def test_gdrive_source_refused(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gdrive, "GDRIVE_URL", server.base + "download")
    server.files["/download?id=abc&export=download&confirm=t"] = b"<!DOCTYPE html><html><title>Quota exceeded</title>"
    source = Source("list_attr_celeba.txt", gdrive_id="abc")
    with pytest.raises(DataError) as info:
        fetch_sources([source], tmp_path, None, gdrive.CELEBA_MANUAL_HINT)
    message = str(info.value)
    assert "refused to serve list_attr_celeba.txt" in message and "Quota exceeded" in message
    assert message.endswith(gdrive.CELEBA_MANUAL_HINT) and message.count("Kaggle mirror") == 1
    assert listing(tmp_path) == []


def test_gdrive_source_served(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gdrive, "GDRIVE_URL", server.base + "download")
    data = make_tar(tmp_path / "b.tgz", {"x/a.txt": b"a"}, extra=(tar_member("x/b.txt", tarfile.REGTYPE),))
    server.files["/download?id=abc&export=download&confirm=t"] = data.read_bytes()
    source = Source("x.tgz", size=data.stat().st_size, gdrive_id="abc", extract=True)
    digests = fetch_sources([source], tmp_path / "raw", None)
    assert digests == {"x.tgz": "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()}
    assert (tmp_path / "raw" / "x" / "b.txt").read_bytes() == b"xxx"
