"""Everything MLflow in one place: the tracking URI, experiments, runs, batched per-epoch logging.

The default store is ``sqlite:///<project root>/mlflow.db`` with artifacts in ``<project root>/mlartifacts``; queued
DVC experiments run in ``<root>/.dvc/tmp/exps/<tmp>/`` copies and still log into the root store. The environment
variable ``MLFLOW_TRACKING_URI`` overrides it.

Runs made under ``dvc exp run`` (a trial: DVC sets ``DVC_EXP_NAME``) go to the experiment ``"<name> (trials)"`` and
their run names end with the DVC experiment's name (``cmnist-gerne_known-s0 @ smoke-20250101-120000``: what differs
between runs first), so they cannot be mistaken for the committed results. Every
run is tagged with the DVC stage, the DVC experiment (``workspace`` outside one), whether the git tree was dirty,
and the process that ran it; a run whose process died (``kill -9``) is closed as KILLED when its stage starts again.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
TRACKING_ENV = "MLFLOW_TRACKING_URI"
TRIAL_SUFFIX = " (trials)"
_EXPS_MARKER = (".dvc", "tmp", "exps")


def project_root(start: str | Path | None = None) -> Path:
    """The DVC project root holding ``start`` (default: cwd), seen through queued-experiment temp copies."""
    path = Path(start or os.getcwd()).resolve()
    parts = path.parts
    for i in range(len(parts) - 2):
        if parts[i : i + 3] == _EXPS_MARKER:
            return Path(*parts[:i])
    for candidate in (path, *path.parents):
        if (candidate / "dvc.yaml").is_file() or (candidate / ".dvc").is_dir():
            return candidate
    return path


def default_tracking_uri(start: str | Path | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the absolute SQLite store at the project root."""
    env = os.environ.get(TRACKING_ENV)
    if env:
        return env
    root = os.environ.get("DVC_ROOT") if start is None else None  # DVC points experiment runs at the parent repo
    return f"sqlite:///{Path(root).resolve() if root else project_root(start)}/mlflow.db"


class _Writes:
    """Depth of the MLflow store writes in progress and an interrupt that arrived during one."""

    depth = 0
    pending: BaseException | None = None


@contextmanager
def store_write() -> Iterator[None]:
    """Let an MLflow store write finish: an interrupt arriving meanwhile (:func:`interrupt`) is raised after it.

    An exception raised inside SQLAlchemy in the middle of a SQLite write leaves the database locked, so the run
    could not even be marked KILLED.
    """
    _Writes.depth += 1
    try:
        yield
    finally:
        _Writes.depth -= 1
    if _Writes.depth == 0 and _Writes.pending is not None:
        exc, _Writes.pending = _Writes.pending, None
        raise exc


def interrupt(exc: BaseException) -> None:
    """Raise ``exc`` now, or right after the store write in progress (for signal handlers)."""
    if _Writes.depth:
        _Writes.pending = exc
        return
    raise exc


def dvc_experiment() -> str | None:
    """The DVC experiment this process runs in (``dvc exp run`` sets ``DVC_EXP_NAME``), else None."""
    return os.environ.get("DVC_EXP_NAME") or None


def experiment_name(benchmark: str) -> str:
    """The MLflow experiment for ``benchmark``: ``"<benchmark> (trials)"`` inside a DVC experiment."""
    return f"{benchmark}{TRIAL_SUFFIX}" if dvc_experiment() and not benchmark.endswith(TRIAL_SUFFIX) else benchmark


def trial_run_name(name: str, trial: str) -> str:
    """A trial's run name: the run's own name first (the row and seed tell runs apart), then the DVC experiment."""
    return f"{name} @ {trial}"


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return None


def git_dirty(cwd: str | Path | None = None) -> str:
    """'true' if tracked files differ from HEAD (results from such a tree are not reproducible from the commit)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                             capture_output=True, text=True, check=True)
        return "true" if out.stdout.strip() else "false"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def git_commit(cwd: str | Path | None = None) -> str:
    """HEAD commit of the repository at ``cwd`` ('unknown' outside git)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (lists kept as values)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


_SERVED = ("http://", "https://")
_NO_URL = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


def _own_run_links(uri: str) -> None:
    """For a tracking server: MLflow prints each run's link, which opens its GenAI view; :meth:`Tracker.run` prints
    the classic view's (``gerne.ui.run_url``) instead."""
    if uri.startswith(_SERVED):
        os.environ.setdefault(_NO_URL, "true")


class Run:
    """An open MLflow run; metrics go in one ``log_batch`` call per epoch."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client, self.run_id = client, run_id

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log finite scalar ``metrics`` at ``step`` in a single call."""
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        batch = [Metric(k, float(v), ts, step) for k, v in metrics.items() if v == v]  # drop NaN
        with store_write():
            for i in range(0, len(batch), 1000):
                self.client.log_batch(self.run_id, metrics=batch[i : i + 1000])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        with store_write():
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        with store_write():
            self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


class Tracker:
    """Creates runs in one experiment per benchmark of a given store."""

    def __init__(self, experiment: str, uri: str | None = None) -> None:
        from mlflow.tracking import MlflowClient

        from gerne.store import ensure_experiment

        self.uri = uri or default_tracking_uri()
        self.experiment = experiment_name(experiment)
        self.parent_run_id: str | None = None
        self._stale_checked = False
        # safe across processes
        self.experiment_id = ensure_experiment(self.uri, self.experiment, _artifact_root(self.uri))
        self.client = MlflowClient(tracking_uri=self.uri)
        _own_run_links(self.uri)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable, for a Ray task: everything but the MLflow client, which is rebuilt from the URI."""
        return {k: v for k, v in self.__dict__.items() if k != "client"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from mlflow.tracking import MlflowClient

        self.__dict__.update(state)
        self.client = MlflowClient(tracking_uri=self.uri)
        _own_run_links(self.uri)

    def child(self, parent_run_id: str) -> Tracker:
        """This tracker, with every run it opens nested under ``parent_run_id`` (a sweep's points)."""
        nested = copy.copy(self)
        nested.parent_run_id = parent_run_id
        return nested

    @staticmethod
    def _process_tags() -> dict[str, str]:
        """Which stage, machine, process and working copy a run comes from (no subprocess)."""
        return {"dvc_experiment": dvc_experiment() or "workspace", "dvc_stage": os.environ.get("DVC_STAGE", ""),
                "host": socket.gethostname(), "pid": str(os.getpid()), "workdir": os.getcwd()}

    def close_stale_runs(self) -> list[str]:
        """Mark RUNNING runs of this DVC stage and working copy whose process is gone (``kill -9``) as KILLED."""
        ctx = self._process_tags()
        if not ctx["dvc_stage"]:
            return []
        query = (f"attributes.status = 'RUNNING' and tags.dvc_stage = '{ctx['dvc_stage']}' "
                 f"and tags.host = '{ctx['host']}'")
        closed = []
        for found in self.client.search_runs([self.experiment_id], query, max_results=1000):
            tags = found.data.tags
            pid = tags.get("pid", "")
            if tags.get("workdir") == ctx["workdir"] and pid.isdigit() and not _pid_alive(int(pid)):
                self.client.set_terminated(found.info.run_id, "KILLED")
                closed.append(found.info.run_id)
        if closed:
            log.warning("closed %d run(s) of %s left RUNNING by a killed process as KILLED", len(closed),
                        ctx["dvc_stage"])
        return closed

    @contextmanager
    def run(self, name: str, params: Mapping[str, Any], tags: Mapping[str, Any]) -> Iterator[Run]:
        """Open a run with flattened ``params`` and ``tags``; it ends FINISHED, KILLED on a signal or Ctrl-C, or
        FAILED on an exception."""
        from mlflow.entities import Param

        if not self._stale_checked:
            self._stale_checked = True
            self.close_stale_runs()
        trial = dvc_experiment()
        name = trial_run_name(name, trial) if trial else name
        all_tags = {"mlflow.runName": name, "git_commit": git_commit(), "git_dirty": git_dirty(),
                    **self._process_tags(), **tags}
        if self.parent_run_id:
            all_tags["mlflow.parentRunId"] = self.parent_run_id
        flat = [Param(k, str(v)[:6000]) for k, v in flatten(params).items()]
        run: Run | None = None
        try:  # an interrupt held back during the writes below is raised at their end, so it is caught here too
            with store_write():
                info = self.client.create_run(self.experiment_id, run_name=name,
                                              tags={k: str(v) for k, v in all_tags.items()})
                run = Run(self.client, info.info.run_id)
                for i in range(0, len(flat), 100):
                    self.client.log_batch(run.run_id, params=flat[i : i + 100])
            yield run
        except BaseException as exc:  # KILLED on Ctrl-C or SIGTERM/SIGHUP in a pipeline stage, else FAILED
            if run is not None:
                with store_write():
                    self.client.set_terminated(run.run_id,
                                               "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise
        with store_write():
            self.client.set_terminated(run.run_id, "FINISHED")
        if self.uri.startswith(_SERVED):
            from gerne.ui import run_url

            print(f"View run {name} at: {run_url(self.uri, self.experiment_id, run.run_id)}", flush=True)

    def log_files(self, name: str, files: list[str | Path], tags: Mapping[str, Any]) -> str:
        """One FINISHED run holding ``files`` as artifacts (report tables and figures), so the UI shows them."""
        with self.run(name, params={}, tags={"stage": "report", **tags}) as run:
            for path in files:
                run.log_artifact(path)
        return run.run_id
