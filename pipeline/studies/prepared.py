"""When a prepared dataset is current: its stamp (``data/<folder>/prepared.json``) names what produced it.

The ``data`` stage covers every dataset the studies use and reruns whenever params.yaml's datasets or studies
change; a folder whose stamp matches (the same kind and prepare options, the same raw files, the same preparation
code) is kept as it is, so adding one dataset prepares that one only. Preparation is deterministic: a folder
rebuilt from the same inputs has the same bytes (and the same data identity, so no run retrains).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.config import Params

STAMP = "prepared.json"  # in the prepared folder (gerne.layout.data_dir); no run's data identity reads it
CODE = ("gerne/data/contract.py", "gerne/data/counts.py", "gerne/data/images.py")  # beside the kind's module


def _sha(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:  # contents only: the same files give the same stamp wherever the project lies
        digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()


def raw_identity(raw_dir: str | Path) -> str:
    """The raw files: their checksums when fetched (``checksums.json``), else every file's path, size and
    modification time (your own folder, read in place)."""
    raw = Path(raw_dir)
    if (raw / "checksums.json").is_file():
        return _sha([raw / "checksums.json"])
    listing = sorted((str(f.relative_to(raw)), f.stat().st_size, f.stat().st_mtime_ns)
                     for f in raw.rglob("*") if f.is_file())
    return "files:" + hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def stamp(params: Params, dataset: str, raw_dir: str | Path, module: str) -> dict[str, Any]:
    """What a prepared folder of ``dataset`` from ``raw_dir`` depends on (``module``: the kind's source file,
    relative to the project root, e.g. ``gerne/data/cmnist.py``)."""
    import gerne

    _, decl = params.declared(dataset)
    root = Path(gerne.__file__).resolve().parent.parent
    code = [root / f for f in (module, *CODE) if (root / f).is_file()]
    return {"kind": decl.kind, "prepare": decl.prepare, "raw": raw_identity(raw_dir), "code": _sha(code)}


def is_current(out_dir: str | Path, expected: dict[str, Any]) -> bool:
    """True when ``out_dir`` holds a prepared dataset stamped with ``expected``."""
    path = Path(out_dir) / STAMP
    try:
        return path.is_file() and json.loads(path.read_text()) == json.loads(json.dumps(expected))
    except json.JSONDecodeError:
        return False
