"""Where a dataset's raw files come from: canonical URLs, known sizes and checksums, how to unpack them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One raw file of a dataset release.

    ``name`` is the file name on disk (also looked up in a mirror directory); ``urls`` are tried in order;
    ``size``/``md5`` are verified when known (otherwise the SHA-256 is computed and recorded by the caller);
    ``gdrive_id`` marks a Google Drive file (CelebA); ``extract`` unpacks the archive into the raw directory.
    """

    name: str
    urls: tuple[str, ...] = ()
    size: int | None = None
    md5: str | None = None
    gdrive_id: str | None = None
    extract: bool = False
