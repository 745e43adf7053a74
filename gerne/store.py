"""Create the MLflow store and its experiments safely when several processes start at once.

A fresh SQLite store is created (schema + migrations) by the first ``MlflowClient`` that opens it; two processes
doing that together, or racing a get-or-create of the same experiment, make one of them fail. For ``sqlite:///``
stores both happen under an inter-process lock on ``<db>.lock``; for a tracking server the get-or-create retries
when the create loses the race.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: no lock, the get-or-create retry still applies
    fcntl = None  # type: ignore[assignment]

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other URIs and in-memory databases)."""
    if not uri.startswith(SQLITE_PREFIX):
        return None
    path = uri.removeprefix(SQLITE_PREFIX).split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


@contextmanager
def store_lock(db: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<db>.lock`` (parent directories are created)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(db.with_name(f"{db.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def get_or_create_experiment(client: Any, name: str, artifact_location: str | None = None,
                             attempts: int = 5) -> str:
    """Id of experiment ``name``, created if missing; a create that loses a race to another process reads it again."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    for _ in range(attempts):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
    raise RuntimeError(f"experiment {name!r} neither found nor created after {attempts} attempts")


def ensure_experiment(uri: str, name: str, artifact_location: str | None = None) -> str:
    """Id of experiment ``name`` in the store at ``uri``, creating the store and the experiment if needed."""
    from mlflow.tracking import MlflowClient

    db = sqlite_path(uri)
    if db is None:
        return get_or_create_experiment(MlflowClient(tracking_uri=uri), name, artifact_location)
    with store_lock(db):
        return get_or_create_experiment(MlflowClient(tracking_uri=uri), name, artifact_location)


def init_store(uri: str, names: list[str], artifact_location: str | None = None) -> dict[str, str]:
    """Create the store at ``uri`` and the experiments ``names``; returns ``{name: experiment id}``."""
    return {name: ensure_experiment(uri, name, artifact_location) for name in names}
