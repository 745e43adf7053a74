"""Import the committed run summaries (``runs/``) into the local MLflow store: the summaries are the source of truth,
MLflow is a view of them, so a fresh clone's UI shows every committed run.

Each summary becomes a FINISHED run with its ``config`` flattened as params, its per-epoch ``history`` as metrics
(``step = epoch``), the headline metrics of its selections and the tags a training stage gives a run, plus
``imported: true``, ``original_run_id`` (its ``mlflow_run_id``, in the store of the machine that trained it),
``gerne.summary_path`` and ``gerne.summary_sha256``. A sweep (``sweeps/<folder>/<row>/selected.json``) becomes a
parent run with its points as children. The import is idempotent: a summary whose SHA-256 is in the store is
skipped, and so is one whose original run is in this store (trained here: a point of a sweep trained here nests under
that sweep's run). An imported run whose file changed or is gone, or whose import was cut short, is deleted (and the
file imported again). An unreadable summary is skipped with a warning naming the file, never stopping the import.
The ``Default`` experiment keeps a digest of the files last imported in full, so an import with nothing new reads
no runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gerne import layout
from gerne.store import get_or_create_experiment, sqlite_path, store_lock
from gerne.store_writer import RunWriter
from gerne.tracking import _artifact_root

log = logging.getLogger(__name__)
SHA_TAG, PATH_TAG, DIGEST_TAG = "gerne.summary_sha256", "gerne.summary_path", "gerne.runs_sha256"
IMPORTED_TAG, ORIGINAL_TAG, PARENT_TAG = "imported", "original_run_id", "mlflow.parentRunId"
# the headline metrics pipeline.runs.common.headline_metrics logs (tests/test_store_import.py keeps them equal)
HEADLINE = ("gba", "wga", "acc", "aligned_acc", "conflicting_acc", "cba", "worst_class")
Folders = Mapping[str, tuple[str, str]]  # a dataset's folder → (dataset, MLflow experiment)


@dataclass
class ImportResult:
    """What one import did: runs created (sweep parents apart), summaries already there, stale runs deleted, files
    skipped (path: reason) and the time it took."""

    imported: int = 0
    sweeps: int = 0
    present: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Summary:
    path: Path
    rel: str  # relative to the runs folder's parent: runs/cmnist/r0.5/gerne_known/seed0.json
    sha: str
    data: dict[str, Any]


def headline_metrics(selections: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """``best_val/test_gba``, ``last/val_wga``, …: one number per selection rule, split and headline metric."""
    return {f"{rule}/{split}_{name}": float(sel["metrics"][f"{split}_{name}"])
            for rule, sel in selections.items() for split in ("val", "test") for name in HEADLINE
            if f"{split}_{name}" in sel["metrics"]}


def _read(path: Path, base: Path, skipped: list[str]) -> _Summary | None:
    """The summary at ``path``, or None (the reason noted and logged) unless it holds what a run or sweep needs."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        need = ("best", "candidates") if path.name == layout.SELECTED else ("mlflow_run_id", "history", "selections")
        missing = [k for k in need if k not in data]
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        skipped.append(f"{path}: {exc}")
        log.warning("not imported into MLflow: %s is not a readable run summary (%s)", path, exc)
        return None
    return _Summary(path, path.relative_to(base).as_posix(), hashlib.sha256(raw).hexdigest(), data)


def _walk(root: Path) -> Iterator[Path]:
    """Every run summary and ``selected.json`` under ``root``, but in the stages' hidden ``.<name>.partial``."""
    for path in sorted(root.rglob("*.json")):
        if (path.name == layout.SELECTED or path.name not in layout.NOT_SUMMARIES) \
                and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _identity(data: Mapping[str, Any], rel: str, folders: Folders) -> tuple[str, str]:
    """(dataset, experiment) of a file: the longest declared folder holding it, else the dataset it names."""
    inner = rel.split("/", 1)[-1].removeprefix("sweeps/")
    found = [f for f in folders if inner.startswith(f"{f}/")]
    if found:
        return folders[max(found, key=len)]
    name = str(data.get("config", {}).get("dataset") or data.get("benchmark") or "imported")
    return name, name


def _numbers(values: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """The numeric, non-NaN entries of ``values`` (the pipeline drops NaN too)."""
    for key, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
            yield key, float(value)


def _run_metrics(data: Mapping[str, Any], start: int) -> list[Any]:
    """The per-epoch history (step = epoch, timestamps ``seconds_per_epoch`` apart) and the end-of-run metrics at
    the last step, as the training stage logs them."""
    from mlflow.entities import Metric

    spe = float(data.get("seconds_per_epoch") or 0.0)
    out = []
    for i, entry in enumerate(data["history"]):
        epoch = int(entry.get("epoch", i + 1))
        out += [Metric(k, v, start + round(epoch * spe * 1000), epoch) for k, v in _numbers(entry) if k != "epoch"]
    last = len(data["history"])
    end = {"seconds_per_epoch": spe, **headline_metrics(data["selections"]),
           **{f"{rule}/epoch": sel["epoch"] for rule, sel in data["selections"].items()}}
    return out + [Metric(k, v, start + round(last * spe * 1000), last) for k, v in _numbers(end)]


def _run_tags(s: _Summary, dataset: str) -> dict[str, Any]:
    """The tags the training stage gave the run, and where it was imported from."""
    data, cfg = s.data, s.data.get("config", {})
    setting = data.get("setting") or Path(s.rel).parent.name
    method = data.get("method") or cfg.get("training", {}).get("method") \
        or ("gerne" if isinstance(cfg.get("setting"), dict) else None)  # the removed Table 1 runner: GERNE only
    return {"stage": "reference" if setting == "biased" else "train", "dataset": dataset, "setting": setting,
            "method": method, "seed": data.get("seed"), "diverged": data.get("diverged"),
            **({"beyond_eq9_bound": True} if data.get("beyond_eq9_bound") else {}),
            **{f"selected.{k}.epoch": v.get("epoch") for k, v in data["selections"].items()},
            IMPORTED_TAG: "true", ORIGINAL_TAG: data["mlflow_run_id"], PATH_TAG: s.rel, SHA_TAG: s.sha,
            "mlflow.note.content": f"Imported from `{s.rel}`; trained as MLflow run `{data['mlflow_run_id']}` "
                                   "of the store of the machine that trained it."}


def _run_name(s: _Summary, dataset: str, sweep: _Summary | None) -> str:
    """The stage's name for the run: ``<dataset>-<row>-s<seed>``, a sweep point ``<dataset>-<row>-<point>``."""
    data, path = s.data, Path(s.rel)
    if data.get("setting") == "biased" or path.name == layout.REFERENCE:
        return f"{dataset}-biased"
    if "valonly" in path.parts:
        return f"{dataset}-valonly-{path.stem}"
    if sweep is not None:
        point = f"{dataset}-{path.parent.parent.name}-{path.parent.name}"
        return point if data.get("seed") == sweep.data.get("seed") else f"{point}-s{data.get('seed')}"
    return f"{dataset}-{data.get('setting') or path.parent.name}-s{data.get('seed')}"


def _sweep_fingerprint(sweep: _Summary, points: list[_Summary]) -> str:
    """SHA-256 of ``selected.json`` and its points' paths and hashes: a change to any of them is a new sweep."""
    digest = hashlib.sha256(sweep.sha.encode())
    for p in sorted(points, key=lambda p: p.rel):
        digest.update(f"\0{p.rel}\0{p.sha}".encode())
    return digest.hexdigest()


class _Importer:
    """One import into the store at ``uri``."""

    def __init__(self, uri: str, folders: Folders, bulk: bool) -> None:
        from mlflow.tracking import MlflowClient

        self.uri, self.folders, self.client = uri, folders, MlflowClient(tracking_uri=uri)
        self.writer = RunWriter(self.client, bulk)
        self.now = int(time.time() * 1000)
        self.result = ImportResult()
        self.experiments: dict[str, str] = {}
        self.exp_ids: list[str] = []
        self.runs: list[Any] = []  # the store's active imported runs
        self.default = self.client.get_experiment_by_name("Default")

    def unchanged(self, digest: str) -> bool:
        """Whether the last complete import was of exactly these files."""
        return self.default is not None and self.default.tags.get(DIGEST_TAG) == digest

    def done(self, digest: str) -> None:
        if self.default is not None:
            self.client.set_experiment_tag(self.default.experiment_id, DIGEST_TAG, digest)

    def load(self) -> None:
        token = None
        while True:
            page = self.client.search_experiments(max_results=1000, page_token=token)
            self.exp_ids += [e.experiment_id for e in page]
            token = page.token
            if not token:
                break
        self.runs = self._search(f"tags.{IMPORTED_TAG} = 'true'")

    def _search(self, query: str) -> list[Any]:
        from mlflow.entities import ViewType

        found, token = [], None
        while self.exp_ids:
            page = self.client.search_runs(self.exp_ids, query, ViewType.ACTIVE_ONLY, max_results=1000,
                                           page_token=token)
            found += page
            token = page.token
            if not token:
                break
        return found

    def local_runs(self, ids: list[str]) -> dict[str, str]:
        """{run id: its parent run's id or ''} of the ``ids`` that are runs of this store (trained here)."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 100):
            chunk = ", ".join(f"'{r}'" for r in ids[i : i + 100] if r.isalnum())
            if chunk:
                for run in self._search(f"attributes.run_id IN ({chunk})"):
                    out[run.info.run_id] = run.data.tags.get(PARENT_TAG, "")
        return out

    def experiment(self, name: str) -> str:
        if name not in self.experiments:  # the store lock is held: no ensure_experiment, which takes it
            self.experiments[name] = get_or_create_experiment(self.client, name, _artifact_root(self.uri))
        return self.experiments[name]

    def remove_stale(self, current: dict[str, str]) -> None:
        """Delete the imported runs of the same runs folder whose file changed or is gone (``current``: path →
        sha), or whose import was cut short (not FINISHED), with their children."""
        roots = {rel.split("/", 1)[0] for rel in current}
        stale = {r.info.run_id for r in self.runs if r.info.status != "FINISHED"
                 or (r.data.tags.get(PATH_TAG, "").split("/", 1)[0] in roots
                     and current.get(r.data.tags.get(PATH_TAG, "")) != r.data.tags.get(SHA_TAG))}
        stale |= {r.info.run_id for r in self.runs if r.data.tags.get(PARENT_TAG) in stale}
        for run_id in sorted(stale):
            self.client.delete_run(run_id)
        self.runs = [r for r in self.runs if r.info.run_id not in stale]
        self.result.removed = len(stale)

    def log(self, experiment: str, name: str, tags: dict[str, Any], params: Mapping[str, Any], metrics: list[Any],
            start: int) -> str:
        return self.writer.log_run(self.experiment(experiment), name, tags, params, metrics, start, self.now)

    def run(self, s: _Summary, parent: str | None, sweep: _Summary | None) -> None:
        dataset, experiment = _identity(s.data, s.rel, self.folders)
        tags = {**_run_tags(s, dataset), **({PARENT_TAG: parent} if parent else {})}
        start = self.now - round(float(s.data.get("seconds_per_epoch") or 0.0) * len(s.data["history"]) * 1000)
        self.log(experiment, _run_name(s, dataset, sweep), tags, s.data.get("config", {}),
                 _run_metrics(s.data, start), start)
        self.result.imported += 1

    def sweep(self, sweep: _Summary, points: list[_Summary]) -> str:
        """The parent run of a sweep: its choice as tags and ``best/<metric>``, the grid's size as metrics."""
        from mlflow.entities import Metric

        data, row = sweep.data, sweep.path.parent.name
        dataset, experiment = _identity(points[0].data if points else {}, sweep.rel, self.folders)
        best, metric = data["best"], data.get("metric", "value")
        tags = {"stage": "sweep", "dataset": dataset, "setting": row, "kind": data.get("kind"),
                "configs": len(data["candidates"]) + len(data.get("skipped", [])), "selected": best.get("name"),
                IMPORTED_TAG: "true", PATH_TAG: sweep.rel, SHA_TAG: sweep.sha,
                "mlflow.note.content": f"Imported from `{sweep.rel}` and its points."}
        values = {f"best/{metric}": best.get("value"), "configs_trained": len(data["candidates"]),
                  "configs_skipped": len(data.get("skipped", []))}
        self.result.sweeps += 1
        return self.log(experiment, f"{dataset}-{row}-search", tags,
                        {"seed": data.get("seed"), "metric": metric, "selected": best.get("point")},
                        [Metric(k, v, self.now, 0) for k, v in _numbers(values)], self.now)


def _import(imp: _Importer, root: Path) -> None:
    result, base = imp.result, root.parent
    files = [s for s in (_read(p, base, result.skipped) for p in _walk(root)) if s is not None]
    sweeps = {s.path.parent: s for s in files if s.path.name == layout.SELECTED}
    runs = [s for s in files if s.path.name != layout.SELECTED]
    points = {d: [s for s in runs if s.path.parent.parent == d] for d in sweeps}
    for d, sweep in sweeps.items():
        sweep.sha = _sweep_fingerprint(sweep, points[d])
    current = {s.rel: s.sha for s in [*sweeps.values(), *runs]}
    digest = hashlib.sha256(json.dumps(sorted(current.items())).encode()).hexdigest()
    if imp.unchanged(digest):
        result.present = len(runs)
        return
    imp.load()
    imp.remove_stale(current)
    present = {r.data.tags.get(SHA_TAG): r.info.run_id for r in imp.runs}
    originals = {r.data.tags.get(ORIGINAL_TAG) for r in imp.runs}
    todo = [s for s in runs if s.sha not in present]
    local = imp.local_runs(sorted({s.data["mlflow_run_id"] for s in todo} - originals))
    result.present = len(runs) - len(todo)

    def new(s: _Summary) -> bool:
        """Not trained here, nor the same run as a summary imported already (a sweep's winner, copied)."""
        original = s.data["mlflow_run_id"]
        if original in local or original in originals:
            result.present += 1
            return False
        originals.add(original)
        return True

    for d, sweep in sweeps.items():  # parents first, so their points nest under them
        missing = [p for p in points[d] if p.sha not in present]
        here = [local[p.data["mlflow_run_id"]] for p in missing if p.data["mlflow_run_id"] in local]
        parent = next((p for p in here if p), None) or present.get(sweep.sha)  # a sweep trained here: its run
        if parent is None and len(here) < len(missing):
            parent = imp.sweep(sweep, points[d])
        for p in missing:
            if new(p):
                imp.run(p, parent, sweep)
    in_sweeps = {id(p) for ps in points.values() for p in ps}
    for s in todo:
        if id(s) not in in_sweeps and new(s):
            imp.run(s, None, None)
    imp.writer.flush()
    if not result.skipped:
        imp.done(digest)


def import_summaries(root: str | Path, uri: str, folders: Folders | None = None, bulk: bool = True) -> ImportResult:
    """Import every run summary under ``root`` (a ``runs/`` folder) the store at ``uri`` lacks.

    ``folders`` maps a dataset's folder (``cmnist/r1.0``) to its dataset and MLflow experiment (``cmnist_r1``,
    ``cmnist``); a file outside them goes to the dataset it names. Two imports never run at once on one SQLite
    store: each holds the store's creation lock (``gerne.store``), so the second finds the first one's runs.
    ``bulk``: params and metrics of a SQL store in bulk inserts (``gerne.store_writer``), else ``log_batch``.
    """
    start = time.perf_counter()
    root = Path(root).resolve()
    if not root.is_dir():
        return ImportResult()
    db = sqlite_path(uri)
    with store_lock(db) if db is not None else nullcontext():
        imp = _Importer(uri, dict(folders or {}), bulk)  # a new store's tables are created here, under the lock
        _import(imp, root)
    imp.result.seconds = time.perf_counter() - start
    return imp.result
