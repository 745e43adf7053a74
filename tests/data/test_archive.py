"""Safe extraction of real tar.gz / tar / zip archives laid out like the dataset releases."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from gerne.data.archive import MARKER, archive_stem, is_complete, safe_extract
from gerne.errors import DataError

WB = "waterbird_complete95_forest2water2"


def jpeg(seed: int) -> bytes:
    """A small real JPEG."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (seed % 256, 40, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def waterbirds_members() -> dict[str, bytes]:
    """The group-DRO Waterbirds layout: one top-level folder with metadata.csv and class folders of JPEGs."""
    meta = "img_id,img_filename,y,split,place,place_filename\n"
    meta += "1,001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg,1,0,1,/o/ocean/00002178.jpg\n"
    meta += "2,002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg,1,2,0,/b/bamboo_forest/00000001.jpg\n"
    return {
        f"{WB}/metadata.csv": meta.encode(),
        f"{WB}/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg": jpeg(1),
        f"{WB}/002.Laysan_Albatross/Laysan_Albatross_0002_1027.jpg": jpeg(2),
    }


def make_tar(
    path: Path, members: dict[str, bytes], mode: str = "w:gz", extra: tuple[tarfile.TarInfo, ...] = ()
) -> Path:
    """Write a tar archive with directory entries, the given files and extra raw members (appended last)."""
    with tarfile.open(path, mode) as tar:
        dirs = sorted({str(Path(name).parent) for name in members} - {"."})
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


def make_zip(path: Path, members: dict[str, bytes], extra: tuple[zipfile.ZipInfo, ...] = ()) -> Path:
    """Write a deflated zip archive with the given files and extra raw members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for info in extra:
            zf.writestr(info, b"target" if info.filename else b"")
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    info.size = 3 if kind == tarfile.REGTYPE else 0
    return info


def assert_nothing_left(dest: Path) -> None:
    assert not dest.exists()
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]


def test_archive_stem() -> None:
    assert archive_stem(f"{WB}.tar.gz") == WB
    assert archive_stem("img_align_celeba.zip") == "img_align_celeba"
    assert archive_stem("x.tgz") == "x" and archive_stem("x.tar") == "x" and archive_stem("x.csv") == "x.csv"


def test_tar_gz_wrapped_in_same_named_folder_is_unwrapped(tmp_path: Path) -> None:
    members = waterbirds_members()
    archive = make_tar(tmp_path / f"{WB}.tar.gz", members)
    dest = safe_extract(archive, tmp_path / WB)
    assert dest == tmp_path / WB and is_complete(dest)
    for name, data in members.items():
        assert (dest / name.split("/", 1)[1]).read_bytes() == data
    assert (dest / "metadata.csv").stat().st_mode & 0o777 != 0
    # Idempotent: a completed extraction is returned without reading the archive again.
    archive.write_bytes(b"not an archive any more")
    assert safe_extract(archive, dest) == dest
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, WB])


def test_zip_extraction_celeba_layout(tmp_path: Path) -> None:
    members = {f"img_align_celeba/{i:06d}.jpg": jpeg(i) for i in range(1, 4)}
    archive = make_zip(tmp_path / "img_align_celeba.zip", members)
    dest = safe_extract(archive, tmp_path / "img_align_celeba")
    assert sorted(p.name for p in dest.iterdir()) == sorted([MARKER, "000001.jpg", "000002.jpg", "000003.jpg"])
    assert (dest / "000002.jpg").read_bytes() == jpeg(2)
    with Image.open(dest / "000003.jpg") as img:
        assert img.size == (8, 8)


def test_plain_tar_without_wrapper_keeps_layout(tmp_path: Path) -> None:
    members = {"all_data_with_identities.csv": b"id,comment_text,toxicity\n1,hi,0.0\n", "RELEASE_v1.0.txt": b"v1.0\n"}
    archive = make_tar(tmp_path / "civilcomments_v1.0.tar", members, mode="w")
    dest = safe_extract(archive, tmp_path / "civilcomments_v1.0")
    assert (dest / "all_data_with_identities.csv").read_bytes() == members["all_data_with_identities.csv"]


def test_incomplete_destination_is_replaced(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / f"{WB}.tgz", waterbirds_members())
    (tmp_path / WB).mkdir()
    (tmp_path / WB / "half-written.jpg").write_bytes(b"\xff\xd8")
    dest = safe_extract(archive, tmp_path / WB)
    assert not (dest / "half-written.jpg").exists() and (dest / "metadata.csv").is_file()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_or_truncated_tar_gz(tmp_path: Path, damage: str) -> None:
    archive = make_tar(tmp_path / f"{WB}.tar.gz", {**waterbirds_members(), f"{WB}/big.bin": bytes(range(256)) * 4000})
    data = archive.read_bytes()
    archive.write_bytes(b"\x00garbage" * 100 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated: delete it and download again"):
        safe_extract(archive, tmp_path / WB)
    assert_nothing_left(tmp_path / WB)


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_corrupt_zip(tmp_path: Path, damage: str) -> None:
    payload = bytes(range(256)) * 400
    archive = make_zip(tmp_path / "img_align_celeba.zip", {"img_align_celeba/a.bin": payload})
    data = bytearray(archive.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # corrupt the compressed member data: the CRC check fails while extracting
        data[60:90] = bytes(30)
    archive.write_bytes(bytes(data))
    with pytest.raises(DataError, match="corrupt or truncated"):
        safe_extract(archive, tmp_path / "img_align_celeba")
    assert_nothing_left(tmp_path / "img_align_celeba")


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (tar_member("../evil"), "escapes"),
        (tar_member(f"{WB}/../../evil"), "escapes"),
        (tar_member("/tmp/evil_absolute"), "absolute"),
        (tar_member(f"{WB}/link", tarfile.SYMTYPE, "/etc/passwd"), "link"),
        (tar_member(f"{WB}/up", tarfile.SYMTYPE, "../../outside"), "link"),
        (tar_member(f"{WB}/hard", tarfile.LNKTYPE, f"{WB}/metadata.csv"), "link"),
        (tar_member(f"{WB}/fifo", tarfile.FIFOTYPE), "FIFO"),
        (tar_member(f"{WB}/dev", tarfile.CHRTYPE), "device"),
    ],
)
def test_unsafe_tar_members_are_refused(tmp_path: Path, member: tarfile.TarInfo, reason: str) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    archive = make_tar(workdir / f"{WB}.tar.gz", waterbirds_members(), extra=(member,))
    with pytest.raises(DataError, match=reason) as info:
        safe_extract(archive, workdir / WB)
    message = str(info.value)
    assert repr(member.name) in message and "not a genuine release" in message and "download it again" in message
    assert_nothing_left(workdir / WB)
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["work", archive.name])


@pytest.mark.parametrize(
    ("name", "symlink", "reason"),
    [("../evil.jpg", False, "escapes"), ("/abs/evil.jpg", False, "absolute"), ("img_align_celeba/l", True, "link")],
)
def test_unsafe_zip_members_are_refused(tmp_path: Path, name: str, symlink: bool, reason: str) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    info = zipfile.ZipInfo(name)
    if symlink:
        info.external_attr = 0o120777 << 16
    archive = make_zip(workdir / "img_align_celeba.zip", {"img_align_celeba/000001.jpg": jpeg(1)}, extra=(info,))
    with pytest.raises(DataError, match=reason) as err:
        safe_extract(archive, workdir / "img_align_celeba")
    assert repr(name) in str(err.value) and "not a genuine release" in str(err.value)
    assert_nothing_left(workdir / "img_align_celeba")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["img_align_celeba.zip", "work"]


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        safe_extract(tmp_path / "nothing.tar.gz", tmp_path / "nothing")
