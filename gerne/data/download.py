"""Generic download helpers: streamed digests, resumable HTTP download, size/checksum verification, mirror copies.

HTTP goes through the standard library (``urllib``); a ``tqdm`` progress bar shows on terminals only.
A file at its final path is always complete and verified: downloads go to ``<name>.part`` (kept on failure so
that the next attempt resumes with an HTTP ``Range`` request), then to an unverified temporary name, and are
renamed onto the final name only after the checksum matched.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from tqdm import tqdm

from gerne.errors import DataError

CHUNK = 1 << 20
RETRY_BACKOFF_S = 1.0  # first wait between attempts; doubles each retry (tests set it to 0)
USER_AGENT = "gerne-data/0.1 (python urllib)"
# HTTP answers that will not change on retry.
_PERMANENT_HTTP = {400, 401, 403, 404, 405, 410, 451}
GZIP_MAGIC = b"\x1f\x8b"
# What reading a damaged gzip file raises: BadGzipFile (an OSError), EOFError (truncated), zlib.error (bad data).
GZIP_ERRORS = (OSError, EOFError, zlib.error)

log = logging.getLogger(__name__)


def _head(path: str | os.PathLike[str], n: int = 16) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def gzip_problem(exc: BaseException, path: str | os.PathLike[str]) -> str:
    """Why the gzip file ``path`` could not be read (``exc`` is what reading it raised), in words."""
    text = str(exc)
    if isinstance(exc, EOFError):
        return ("truncated: its gzip stream ends before the end marker (an interrupted download or copy; it has "
                f"{_size(path)} bytes)")
    if isinstance(exc, zlib.error):
        return f"damaged bytes inside its gzip stream ({text})"
    if text.startswith("Not a gzipped file"):
        head = _head(path)
        if head.startswith(GZIP_MAGIC):
            return "not a single gzip stream: extra bytes follow the compressed data"
        html = " — it looks like an HTML page, e.g. a mirror's or proxy's error page" if head.lstrip()[:1] == b"<" \
            else ""
        return f"not a gzip file (it starts with {head[:8]!r}; gzip files start with 1f 8b){html}"
    if "CRC check failed" in text or "Incorrect length" in text:
        return f"its decompressed bytes do not match the gzip checksum ({text})"
    return text or type(exc).__name__


def _size(path: str | os.PathLike[str]) -> str:
    try:
        return f"{os.path.getsize(path):,}"
    except OSError:
        return "an unknown number of"


def md5_of(path: str | os.PathLike[str], decompress_gzip: bool = False) -> str:
    """Hex MD5 of a file, read in chunks; of its gunzipped bytes if ``decompress_gzip``."""
    return digest_of(path, "md5", decompress_gzip)


def digest_of(path: str | os.PathLike[str], algorithm: str = "sha256", decompress_gzip: bool = False) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file read in chunks; of its gunzipped bytes if asked."""
    try:
        return _digest(path, algorithm, decompress_gzip)
    except GZIP_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # permissions, a directory, ...: not corruption
            raise DataError(f"cannot read {path}: {exc.strerror}") from exc
        why = gzip_problem(exc, path) if decompress_gzip else str(exc)
        raise DataError(f"cannot read {path}: {why}. The file is corrupt: delete it and fetch it again") from exc


def _digest(path: str | os.PathLike[str], algorithm: str, decompress_gzip: bool) -> str:
    """:func:`digest_of` without the error translation (raises what reading raised)."""
    digest = hashlib.new(algorithm)
    opener = gzip.open if decompress_gzip else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _IncompleteError(Exception):
    """A transfer ended before Content-Length bytes arrived (retried, resuming from the .part file)."""


def _attempt(url: str, part: Path, timeout: float) -> None:
    """One request: append to ``part`` (if the server honours Range) or rewrite it; raise on a short body."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # our partial file is not a prefix the server recognises: restart
            part.unlink()
            raise _IncompleteError("server refused to resume (416); restarting from scratch") from exc
        raise
    with response:
        status = getattr(response, "status", 200)
        resumed = offset > 0 and status == 206
        if resumed:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                part.unlink()
                raise _IncompleteError(f"server answered an unexpected range {content_range!r}; restarting")
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        received = 0
        start = offset if resumed else 0
        total = start + expected if expected is not None else None
        bar = tqdm(total=total, initial=start, desc=part.name, unit="B", unit_scale=True, unit_divisor=1024,
                   leave=False, disable=None)  # disable=None: silent unless stderr is a terminal
        with bar, open(part, "ab" if resumed else "wb") as fh:
            while chunk := response.read(CHUNK):
                fh.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received < expected:
        raise _IncompleteError(f"connection closed after {received} of {expected} bytes")


def download_url(url: str, dest: str | os.PathLike[str], timeout: float = 60, retries: int = 3) -> Path:
    """Stream ``url`` to ``dest`` via ``dest.part`` (resumed with HTTP Range), retrying with backoff.

    Raises :class:`DataError` naming the URL and the reason once ``retries`` attempts failed
    (HTTP errors that cannot change on retry, such as 404, fail at once).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    reason = ""
    for attempt in range(max(retries, 1)):
        if attempt:
            time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
        try:
            _attempt(url, part, timeout)
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if exc.code in _PERMANENT_HTTP:
                break
        except (_IncompleteError, http.client.HTTPException, OSError, ValueError) as exc:  # incl. URLError
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        else:
            os.replace(part, dest)
            return dest
    kept = f" (partial data kept in {part} for resuming)" if part.exists() else ""
    raise DataError(f"download of {url} failed after {attempt + 1} attempt(s): {reason}{kept}")


def verify_file(
    path: str | os.PathLike[str],
    *,
    size: int | None = None,
    md5: str | None = None,
    decompress_gzip: bool = False,
    label: str = "",
    hint: str = "",
) -> str:
    """Check ``path`` against a known ``size`` and ``md5``; return the digest actually verified or computed.

    Returns ``"md5:<hex>"`` when ``md5`` is known, else ``"sha256:<hex>"`` (computed so that the caller can record
    it). Raises :class:`DataError` naming ``label`` (default: the file name) on a size or checksum mismatch.
    """
    path = Path(path)
    label = label or path.name
    fix = f"Replace it with an intact copy of the original file (or delete it and download again).{hint}"
    if size is not None:
        actual_size = path.stat().st_size
        if actual_size != size:
            raise DataError(f"{label} is corrupt or truncated: it has {actual_size} bytes, expected {size}. {fix}")
    if md5 is None:
        return "sha256:" + digest_of(path, "sha256", decompress_gzip)
    try:
        actual = _digest(path, "md5", decompress_gzip)
    except GZIP_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # permissions, a directory, ...: not corruption
            raise DataError(f"cannot read {label} ({path}): {exc.strerror}") from exc
        why = gzip_problem(exc, path) if decompress_gzip else str(exc)
        raise DataError(f"{label} is corrupt: {why}. {fix}") from exc
    if actual != md5.lower():
        if path.stat().st_size == 0:
            raise DataError(f"{label} is corrupt: it is empty (0 bytes), truncated to nothing. {fix}")
        what = "decompressed bytes" if decompress_gzip else "bytes"
        raise DataError(f"{label} is corrupt: MD5 of its {what} is {actual}, expected {md5}. {fix}")
    return "md5:" + actual


def install_verified(
    tmp: Path,
    target: Path,
    *,
    size: int | None = None,
    md5: str | None = None,
    decompress_gzip: bool = False,
    origin: str = "",
    hint: str = "",
) -> str:
    """Rename ``tmp`` onto ``target`` if :func:`verify_file` passes (return its digest), else delete ``tmp``."""
    label = f"{target.name} from {origin}" if origin else target.name
    try:
        digest = verify_file(tmp, size=size, md5=md5, decompress_gzip=decompress_gzip, label=label, hint=hint)
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return digest


def copy_from_mirror(mirror_file: Path, tmp: Path, hint: str = "") -> None:
    """Copy a mirror file to ``tmp`` (not yet verified); :class:`DataError` naming it when absent or unreadable."""
    if not mirror_file.is_file():
        msg = f"mirror file {mirror_file} is missing: the mirror directory must hold {mirror_file.name}.{hint}"
        raise DataError(msg)
    try:
        shutil.copyfile(mirror_file, tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"cannot copy {mirror_file} to {tmp.parent}: {exc}.{hint}") from exc


def fetch_verified(
    name: str,
    dest_dir: str | os.PathLike[str],
    urls: list[str],
    mirror_dir: str | os.PathLike[str] | None,
    md5: str,
    decompress_gzip_for_md5: bool = False,
    *,
    hint: str = "",
    timeout: float = 60,
    retries: int = 3,
) -> Path:
    """Return ``dest_dir/name`` verified against ``md5``, copying it from ``mirror_dir`` or downloading it.

    Order: an existing verified file is reused (a corrupt one is replaced); with ``mirror_dir`` the file is
    copied from ``mirror_dir/name`` (no download); otherwise each base URL in ``urls`` is tried with ``name``
    appended. ``hint`` is appended to every error message (how to fix the setup).
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / name
    if target.is_file():
        try:
            if _digest(target, "md5", decompress_gzip_for_md5) == md5:
                return target
            log.warning("%s does not match its MD5 (stale or altered); fetching it again", target)
        except GZIP_ERRORS as exc:
            why = gzip_problem(exc, target) if decompress_gzip_for_md5 else str(exc)
            log.warning("%s is unreadable (%s); deleting it and fetching it again", target, why)
        target.unlink()  # stale or corrupt: fetch it again
    tmp = dest / f".{name}.unverified"
    tmp.unlink(missing_ok=True)
    if mirror_dir is not None:
        source = Path(mirror_dir) / name
        copy_from_mirror(source, tmp, hint)
        install_verified(tmp, target, md5=md5, decompress_gzip=decompress_gzip_for_md5, origin=str(source), hint=hint)
        return target
    failures = []
    for base in urls:
        url = base if base.endswith("/") else base + "/"
        url += name
        try:
            download_url(url, tmp, timeout=timeout, retries=retries)
            install_verified(tmp, target, md5=md5, decompress_gzip=decompress_gzip_for_md5, origin=url)
            return target
        except DataError as exc:
            failures.append(str(exc))
    tried = "; ".join(failures) if failures else "no URL given"
    raise DataError(f"could not obtain {name}: every source failed ({tried}).{hint}")
