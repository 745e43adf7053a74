"""Obtain a dataset's raw files (:class:`~gerne.data.sources.Source` list): reuse, mirror copy or download,
then verify and extract.

Each file lands at ``raw_dir/<name>`` only after verification (size and MD5 when known; otherwise its SHA-256 is
computed and returned for the caller to record). An archive with ``extract`` is unpacked into
``raw_dir/<name without archive suffix>`` by :func:`gerne.data.archive.safe_extract`. A mirror directory may hold
either the file itself or, for an archive, its already extracted folder (e.g. ``img_align_celeba/`` instead of
``img_align_celeba.zip``); such a folder is copied in with hard links where possible (plain copies otherwise).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from gerne.data.archive import MARKER, archive_stem, building_dir, is_complete, safe_extract
from gerne.data.download import copy_from_mirror, digest_of, download_url, install_verified, verify_file
from gerne.data.gdrive import download_gdrive
from gerne.data.sources import Source
from gerne.errors import DataError


def extracted_dir(source: Source, raw_dir: Path) -> Path:
    """Where an ``extract`` source is unpacked: ``raw_dir/<name without its archive suffix>``."""
    return Path(raw_dir) / archive_stem(source.name)


def tree_digest(directory: Path) -> str:
    """``"sha256-tree:<hex>"`` over the sorted relative paths and SHA-256 of every file under ``directory``."""
    directory = Path(directory)
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MARKER)
    for path in files:
        rel = path.relative_to(directory).as_posix()
        digest.update(f"{rel}\0{digest_of(path, 'sha256')}\n".encode())
    return "sha256-tree:" + digest.hexdigest()


def _discard(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # other file system, read-only mirror, no hard-link support
        shutil.copy2(src, dst)


def _copy_tree(source_dir: Path, dest: Path, hint: str) -> str:
    """Copy an already extracted mirror folder to ``dest`` atomically; return its :func:`tree_digest`."""
    # A folder wrapped in a same-named folder (the Kaggle CelebA layout img_align_celeba/img_align_celeba/).
    while (entries := list(source_dir.iterdir())) and len(entries) == 1 and entries[0].name == source_dir.name:
        if not entries[0].is_dir():
            break
        source_dir = entries[0]
    if not any(p.is_file() for p in source_dir.rglob("*")):
        raise DataError(f"mirror folder {source_dir} holds no files: put the extracted release files there.{hint}")
    try:
        with building_dir(dest) as tmp:
            shutil.copytree(source_dir, tmp, copy_function=_link_or_copy, dirs_exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot copy {source_dir} to {dest}: {exc}.{hint}") from exc
    return tree_digest(dest)


def _reuse(source: Source, target: Path) -> str | None:
    """Digest of an existing verified ``target``; a file failing verification is deleted (``None``)."""
    if not target.is_file():
        return None
    try:
        return verify_file(target, size=source.size, md5=source.md5)
    except DataError:
        target.unlink()
        return None


def _downloaders(source: Source, tmp: Path, timeout: float, retries: int) -> list[tuple[str, Callable[[], Path]]]:
    """(origin, download-to-``tmp``) for Google Drive (if ``gdrive_id``) and each URL, in that order."""
    attempts: list[tuple[str, Callable[[], Path]]] = []
    if source.gdrive_id:
        gid = source.gdrive_id
        attempts.append((f"Google Drive id {gid}", lambda: download_gdrive(
            gid, tmp, label=source.name, timeout=timeout, retries=retries)))
    for url in source.urls:
        attempts.append((url, lambda url=url: download_url(url, tmp, timeout=timeout, retries=retries)))
    return attempts


def _obtain(
    source: Source, target: Path, mirror_dir: Path | None, hint: str, timeout: float, retries: int
) -> tuple[str, str]:
    """Copy ``source`` from the mirror or download it, verify it, install it at ``target``; return (digest, origin)."""
    tmp = target.with_name(f".{target.name}.unverified")
    tmp.unlink(missing_ok=True)
    if mirror_dir is not None:
        mirror_file = mirror_dir / source.name
        copy_from_mirror(mirror_file, tmp, hint)
        origin = f"mirror file {mirror_file}"
        return install_verified(tmp, target, size=source.size, md5=source.md5, origin=origin, hint=hint), origin
    failures = []
    for origin, download in _downloaders(source, tmp, timeout, retries):
        try:
            download()
            return install_verified(tmp, target, size=source.size, md5=source.md5, origin=origin), origin
        except DataError as exc:
            failures.append(str(exc))
    tried = "; ".join(failures) if failures else "it has no URL and no Google Drive id"
    raise DataError(f"could not download {source.name}: every source failed ({tried}).{hint}")


def _mirror_variant(source: Source, mirror_dir: Path) -> Path | None:
    """The one format variant (same stem, other suffix) of a file the mirror lacks, e.g. Kaggle's CelebA ``.csv``."""
    if (mirror_dir / source.name).exists():
        return None
    stem = Path(source.name).stem
    found = [p for p in mirror_dir.glob(glob.escape(stem) + ".*") if p.is_file() and Path(p.name).stem == stem]
    return found[0] if len(found) == 1 else None


def _fetch_one(
    source: Source, raw_dir: Path, mirror_dir: Path | None, hint: str, timeout: float, retries: int
) -> tuple[str, str]:
    """(name, digest) of one source made available under ``raw_dir``."""
    target = raw_dir / source.name
    unpacked = extracted_dir(source, raw_dir) if source.extract else None
    digest, origin = _reuse(source, target), f"existing file {target}"
    if digest is None and unpacked is None and mirror_dir is not None:
        variant = _mirror_variant(source, mirror_dir)
        if variant is not None:  # its own format: the release checksum does not apply, its SHA-256 is recorded
            vsource = Source(variant.name)
            return variant.name, _obtain(vsource, raw_dir / variant.name, mirror_dir, hint, timeout, retries)[0]
    if digest is None and unpacked is not None:
        if is_complete(unpacked):  # extracted earlier (archive since deleted) or copied from a mirror folder
            return source.name, tree_digest(unpacked)
        if mirror_dir is not None and not (mirror_dir / source.name).is_file():
            folder = mirror_dir / unpacked.name
            if not folder.is_dir():
                msg = (f"mirror directory {mirror_dir} holds neither {source.name} nor its extracted folder "
                       f"{unpacked.name}/: put one of them there.{hint}")
                raise DataError(msg)
            return source.name, _copy_tree(folder, unpacked, hint)
    if digest is None:
        digest, origin = _obtain(source, target, mirror_dir, hint, timeout, retries)
        if unpacked is not None:
            _discard(unpacked)  # an extraction of an older copy of the archive
    if unpacked is not None:
        try:
            safe_extract(target, unpacked)
        except DataError as exc:
            target.unlink(missing_ok=True)  # unusable: the next run fetches it again
            raise DataError(f"{exc} (it came from {origin}; {target} was deleted).{hint}") from exc
    return source.name, digest


def fetch_sources(
    sources: list[Source],
    raw_dir: str | os.PathLike[str],
    mirror_dir: str | os.PathLike[str] | None,
    hint: str = "",
    *,
    timeout: float = 60,
    retries: int = 3,
) -> dict[str, str]:
    """Make every source available (verified, and extracted if asked) under ``raw_dir``; return their digests.

    Per source: an existing file that passes verification is reused (a failing one is replaced); with
    ``mirror_dir`` the file is copied from ``mirror_dir/<name>`` (or, for an ``extract`` archive, the extracted
    folder ``mirror_dir/<stem>/`` is copied in) and nothing is downloaded; otherwise Google Drive (``gdrive_id``)
    and then each full URL in ``urls`` are tried. Returns ``{name: "md5:<hex>" | "sha256:<hex>"}`` (the digest
    verified, or computed when no MD5 is known) or ``"sha256-tree:<hex>"`` for a folder copied from a mirror.
    A mirror lacking a plain file may hold one format variant of it instead (same stem, other suffix: the Kaggle
    CelebA ``list_attr_celeba.csv`` for ``list_attr_celeba.txt``); it is copied under its own name, and its
    SHA-256 is returned under that name.
    Every failure is a :class:`DataError` naming the file, its source and the fix, followed by ``hint``.
    """
    raw = Path(raw_dir)
    raw.mkdir(parents=True, exist_ok=True)
    mirror = Path(mirror_dir) if mirror_dir is not None else None
    return dict(_fetch_one(source, raw, mirror, hint, timeout, retries) for source in sources)
