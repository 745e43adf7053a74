"""Machine-local settings: where this machine keeps copies of the releases (mirror directories).

They are not experiment parameters: no DVC stage reads them as a param, so pointing a dataset at a mirror never
marks a stage stale nor writes a path of this machine into ``dvc.lock``. What the stages depend on is the fetched
files' checksums (``data/raw/<dataset>/checksums.json``), whatever their origin.

Sources, first match wins:

1. the environment variable ``GERNE_MIRROR_<DATASET>`` (the dataset's name upper-cased, other characters as ``_``,
   e.g. ``GERNE_MIRROR_CELEBA=/data/celeba``);
2. ``local.yaml`` at the repository root (git-ignored; another file with ``$GERNE_LOCAL``)::

       mirrors:
         celeba: /data/celeba
3. a kind's own variable where it has one (``$GERNE_MNIST_MIRROR`` for the C-MNIST kinds);
4. none: the release is downloaded from its canonical source.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from gerne.errors import ConfigError

LOCAL_ENV = "GERNE_LOCAL"
LOCAL_FILE = "local.yaml"
KEYS = ("mirrors",)


def mirror_env(dataset: str) -> str:
    """The environment variable naming ``dataset``'s mirror directory."""
    return "GERNE_MIRROR_" + re.sub(r"[^A-Z0-9]", "_", dataset.upper())


def local_file() -> Path:
    """The machine-local settings file: ``$GERNE_LOCAL``, else ``local.yaml`` in the working directory."""
    return Path(os.environ.get(LOCAL_ENV) or LOCAL_FILE)


def load_local(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, str]]:
    """The settings of ``path`` (default :func:`local_file`); {} when there is none. ConfigError names a malformed
    file and the fix."""
    path = Path(path) if path is not None else local_file()
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML ({exc}); fix it or delete it") from exc
    if not isinstance(data, dict) or set(data) - set(KEYS):
        raise ConfigError(f"{path}: machine-local settings take only {list(KEYS)} (e.g. `mirrors: {{celeba: "
                          f"/data/celeba}}`), got {sorted(data) if isinstance(data, dict) else type(data).__name__}")
    mirrors = data.get("mirrors") or {}
    if not isinstance(mirrors, dict) or not all(isinstance(v, str) and v for v in mirrors.values()):
        raise ConfigError(f"{path}: `mirrors` maps a dataset name to a directory, e.g. `mirrors: {{celeba: "
                          "/data/celeba}}`")
    return {"mirrors": {str(k): str(v) for k, v in mirrors.items()}}


def mirror_for(dataset: str) -> tuple[Path | None, str]:
    """``(directory, where it was set)`` of ``dataset``'s mirror on this machine, ``(None, "")`` when none is set
    (a kind's own variable, e.g. ``$GERNE_MNIST_MIRROR``, is read by the kind itself)."""
    env = mirror_env(dataset)
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser(), f"${env}"
    path = local_file()
    mirrors = load_local(path).get("mirrors", {})
    if dataset in mirrors:
        return Path(mirrors[dataset]).expanduser(), f"{path}: mirrors.{dataset}"
    return None, ""


def mirror_hint(dataset: str) -> str:
    """How to point ``dataset`` at a mirror directory on this machine."""
    return (f" Or put the release files in a directory and name it in {LOCAL_FILE} (`mirrors: {{{dataset}: "
            f"/that/dir}}`, git-ignored) or in ${mirror_env(dataset)}.")
