"""Small file helpers: atomic writes, byte-deterministic archives and staged outputs, so that a failed, killed or
trial stage never leaves a finished-looking output and never destroys the previous, committed one."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

PARTIAL_SUFFIX = ".partial"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same arrays give the same bytes


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextmanager
def atomic_paths(*paths: str | os.PathLike[str]) -> Iterator[tuple[Path, ...]]:
    """Temporary paths beside each of ``paths``; all are renamed into place only if the block succeeds, so a
    stage's files (a model and its summary, say) are replaced together or not at all."""
    targets = [Path(p) for p in paths]
    tmps: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
            os.close(fd)
            tmps.append(Path(tmp))
        yield tuple(tmps)
        mode = 0o666 & ~_umask()
        for tmp in tmps:
            if tmp.exists():
                os.chmod(tmp, mode)
        for tmp, target in zip(tmps, targets, strict=True):
            os.replace(tmp, target)
    finally:
        for tmp in tmps:
            if tmp.exists():
                tmp.unlink()


def partial_dir(target: str | os.PathLike[str]) -> Path:
    """Where :func:`staged_dir` builds ``target``: the hidden sibling ``.<name>.partial`` (ignored by git and DVC)."""
    target = Path(target)
    return target.parent / f".{target.name}{PARTIAL_SUFFIX}"


@contextmanager
def staged_dir(target: str | os.PathLike[str], resume: bool = False, keep_partial: bool = True,
               keep_files: bool = False) -> Iterator[Path]:
    """Build a directory output beside ``target`` and swap it in only when the block succeeds.

    Until then ``target`` keeps its previous contents; after a failure or kill the partial directory stays (and is
    picked up again with ``resume=True``, cleared otherwise), unless ``keep_partial`` is False (a build nothing
    resumes, e.g. a prepared dataset: its partial copy would only hold disk space). Files the new result no longer
    contains disappear with the swap, so the output never mixes two states; with ``keep_files``, the previous
    result's top-level *files* the new build did not write are carried over (records of an earlier version, such
    as a committed sweep's legacy ``grid.json``): only its sub-folders are replaced wholesale.
    """
    target = Path(target)
    work, old = partial_dir(target), target.parent / f".{target.name}.old"
    if old.exists() and not target.exists():  # a swap killed between its two renames: the previous result
        os.replace(old, target)
    if work.exists() and not resume:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    except BaseException:
        if not keep_partial:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if keep_files and target.is_dir():
        for item in target.iterdir():
            if item.is_file() and not (work / item.name).exists():
                shutil.copy2(item, work / item.name)
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(work, target)
    shutil.rmtree(old, ignore_errors=True)


def reuse_finished(work: Path, previous: Path | None, unit: str, done: Callable[[Path], bool]) -> bool:
    """For a :func:`staged_dir` being built in ``work``: True when ``work/unit`` (a file or folder) is finished
    by ``done``, or when ``previous/unit`` is, after copying it in; otherwise clears a leftover ``work/unit``."""
    target = work / unit
    if done(target):
        return True
    _discard(target)
    source = None if previous is None else previous / unit
    if source is None or not done(source):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return True


def _discard(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed member timestamps, written atomically: equal arrays give equal bytes (and
    so equal DVC hashes), which ``np.savez_compressed`` does not (it stamps the current time). ``np.load`` reads it."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
