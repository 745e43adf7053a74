"""Safe, atomic, idempotent extraction of release archives (.tar, .tar.gz/.tgz, .zip).

Every member is checked before it is written: absolute names, names escaping the destination through ``..``,
links of any kind (symbolic or hard: the dataset releases contain none, so all are refused rather than resolved)
and device/FIFO members are refused. Extraction goes to a temporary directory beside the destination, which is
renamed into place only once every member was written and a completion marker was added, so a failure never
leaves a half-extracted directory at the destination.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from gerne.errors import DataError

MARKER = ".gerne-complete"  # written last into a finished extraction (or directory copy)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError)


def archive_stem(name: str) -> str:
    """``name`` without its archive suffix: ``img_align_celeba.zip`` -> ``img_align_celeba``."""
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_complete(directory: Path) -> bool:
    """Whether ``directory`` is a finished extraction or directory copy (holds the completion marker)."""
    return (directory / MARKER).is_file()


def _refuse(archive: Path, member: str, reason: str) -> DataError:
    return DataError(
        f"{archive} member {member!r} {reason}: this is not a genuine release archive. "
        f"Delete {archive} and download it again."
    )


def _member_path(archive: Path, root: Path, name: str) -> Path | None:
    """Where member ``name`` goes under ``root``; ``None`` for the root itself; refuses escaping names."""
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or (name[1:2] == ":" and name[:1].isalpha()):
        raise _refuse(archive, name, "has an absolute path")
    target = os.path.normpath(os.path.join(root, name))
    if target == str(root):
        return None
    if os.path.commonpath([root, target]) != str(root):
        raise _refuse(archive, name, "escapes the extraction directory")
    return Path(target)


def _write(source: IO[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as fh:
        shutil.copyfileobj(source, fh, 1 << 20)


@dataclass(frozen=True)
class _Member:
    """One archive member as the extraction loop sees it: a refusal reason or how to read it."""

    name: str
    problem: str | None  # why it is refused (link, special file), or None
    is_dir: bool
    open: Callable[[], IO[bytes]]


def _tar_members(archive: Path) -> Iterator[_Member]:
    # Streaming mode reads a compressed archive once, front to back (no backward seeks per member).
    with tarfile.open(archive, mode="r|*") as tar:
        for m in tar:
            problem = (f"is a link to {m.linkname!r} (links are refused)" if m.issym() or m.islnk() else
                       None if m.isfile() or m.isdir() else "is a device, FIFO or other special file")
            yield _Member(m.name, problem, m.isdir(), lambda m=m: tar.extractfile(m))


def _zip_members(archive: Path) -> Iterator[_Member]:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            problem = ("is a symbolic link (links are refused)" if stat.S_ISLNK(mode) else
                       "is a device, FIFO or other special file"
                       if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) else None)
            yield _Member(info.filename, problem, info.is_dir(), lambda info=info: zf.open(info))  # CRC checked


def _extract(archive: Path, root: Path, members: Iterator[_Member]) -> None:
    """Write every member under ``root`` after checking it (refused members raise before anything of theirs)."""
    for member in members:
        if member.problem:
            raise _refuse(archive, member.name, member.problem)
        target = _member_path(archive, root, member.name)
        if target is None:
            continue
        if member.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        with member.open() as source:
            _write(source, target)


@contextmanager
def building_dir(dest: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``dest``; on success mark it complete and rename it onto ``dest``.

    If the block leaves exactly one directory named like ``dest`` (and nothing else) in the temporary
    directory, that directory becomes ``dest`` (an archive wrapping its files in a top-level folder of the
    same name, as the releases do). An incomplete ``dest`` left by someone else is replaced.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        yield tmp
        entries = list(tmp.iterdir())
        only_wrapper = len(entries) == 1 and entries[0].name == dest.name and entries[0].is_dir()
        root = entries[0] if only_wrapper else tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(root, 0o777 & ~umask)  # mkdtemp creates 0700
        (root / MARKER).write_text("complete\n", encoding="utf-8")
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        os.replace(root, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` (.tar, .tar.gz/.tgz or .zip) into ``dest`` safely and atomically; return ``dest``.

    Files wrapped in a single top-level folder named like ``dest`` land directly in ``dest`` (see
    :func:`building_dir`). A ``dest`` that already holds a completed extraction is returned as is.
    Raises :class:`DataError` naming the member for unsafe members (absolute or escaping paths, links,
    special files) and for a corrupt or truncated archive; in every failure case nothing is left at ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    if is_complete(dest):
        return dest
    if not archive.is_file():
        raise DataError(f"archive {archive} is missing: download it again")
    members = _zip_members if archive.name.lower().endswith(".zip") else _tar_members
    try:
        with building_dir(dest) as tmp:
            _extract(archive, tmp.resolve(), members(archive))
    except _CORRUPT as exc:
        raise DataError(f"{archive} is corrupt or truncated: delete it and download again ({exc})") from exc
    except OSError as exc:
        raise DataError(f"cannot extract {archive} into {dest}: {exc}") from exc
    return dest
