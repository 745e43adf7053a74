"""Committed run summaries imported into a real temp SQLite store: params, per-epoch history, headline metrics,
tags, a sweep's parent and points; idempotent, runs trained here skipped, unreadable files skipped with a warning."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from gerne.store_import import DIGEST_TAG, import_summaries
from gerne.tracking import TRACKING_ENV
from tests.conftest import REPO

ROW = "cmnist/r0.5/gerne_known/seed0.json"  # the removed Table 1 runner's schema
REF = "cmnist/r0.5/biased.json"  # the reference model f̃: NaN losses in its history
SWEEP = "sweeps/cmnist/r0.5/dfr"  # 7 points; its winner is copied to cmnist/r0.5/dfr/seed0.json
POINTS = len(list((REPO / "runs" / SWEEP).glob("sweep_*/seed*.json")))  # 7 + the test-best point's other seeds
IMPORTED = 2 + POINTS  # ROW, REF and the sweep's runs (the winner's copy is a duplicate)
FOLDERS = {"cmnist/r0.5": ("cmnist", "cmnist")}


def _copy(root: Path, rel: str) -> Path:
    src, dest = REPO / "runs" / rel, root / rel
    if src.is_dir():
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("data.json"))
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    return dest


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new store's file, created once (MLflow's migrations take seconds) and copied by each test."""
    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def store(tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv(TRACKING_ENV, uri)
    return uri


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for rel in (ROW, REF, SWEEP, "cmnist/r0.5/dfr/seed0.json"):
        _copy(root, rel)
    return root


def _by_path(uri: str) -> dict[str, object]:
    client = MlflowClient(tracking_uri=uri)
    found = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.imported = 'true'")
    return {r.data.tags["gerne.summary_path"]: r for r in found}


def test_import_of_real_summaries(store: str, runs: Path) -> None:
    result = import_summaries(runs, store, FOLDERS)
    assert (result.imported, result.sweeps, result.present, result.skipped) == (IMPORTED, 1, 1, [])  # the copy is a dup
    imported, client = _by_path(store), MlflowClient(tracking_uri=store)
    summary = json.loads((runs / ROW).read_text())
    run = imported[f"runs/{ROW}"]
    assert client.get_experiment(run.info.experiment_id).name == "cmnist" and run.info.status == "FINISHED"
    assert run.info.run_name == "cmnist-gerne_known-s0"
    assert run.data.params["setting.beta"] == "1.0" and run.data.params["loop.lr"] == "0.1"
    assert run.data.params["model.hidden"] == "[100, 100, 100]"
    tags = run.data.tags
    assert {k: tags[k] for k in ("imported", "original_run_id", "dataset", "setting", "seed", "stage", "method")} == {
        "imported": "true", "original_run_id": summary["mlflow_run_id"], "dataset": "cmnist",
        "setting": "gerne_known", "seed": "0", "stage": "train", "method": "gerne"}
    assert tags["gerne.summary_sha256"] == hashlib.sha256((runs / ROW).read_bytes()).hexdigest()
    assert tags["selected.best_val.epoch"] == str(summary["selections"]["best_val"]["epoch"])
    history = client.get_metric_history(run.info.run_id, "test_gba")
    assert [(m.step, m.value) for m in history] == [(h["epoch"], h["test_gba"]) for h in summary["history"]]
    assert run.data.metrics["best_val/test_gba"] == summary["selections"]["best_val"]["metrics"]["test_gba"]
    assert run.data.metrics["oracle/test_wga"] == summary["selections"]["oracle"]["metrics"]["test_wga"]
    assert run.data.metrics["best_val/epoch"] == summary["selections"]["best_val"]["epoch"]

    ref = imported[f"runs/{REF}"]
    assert ref.info.run_name == "cmnist-biased" and ref.data.tags["stage"] == "reference"
    assert "loss_lb" not in ref.data.metrics  # NaN in every epoch: dropped, as the pipeline drops it
    assert len(client.get_metric_history(ref.info.run_id, "train_gba")) == 65

    selected = json.loads((runs / SWEEP / "selected.json").read_text())
    parent = imported[f"runs/{SWEEP}/selected.json"]
    assert parent.info.run_name == "cmnist-dfr-search" and parent.data.tags["stage"] == "sweep"
    assert parent.data.tags["selected"] == selected["best"]["name"]
    assert parent.data.metrics[f"best/{selected['metric']}"] == selected["best"]["value"]
    points = [r for p, r in imported.items() if p.startswith(f"runs/{SWEEP}/sweep_")]
    assert len(points) == POINTS and {r.data.tags["mlflow.parentRunId"] for r in points} == {parent.info.run_id}
    assert f"runs/{SWEEP}/{selected['best']['name']}/seed0.json" in imported
    assert "runs/cmnist/r0.5/dfr/seed0.json" not in imported  # the winner's copy is the same run


def test_the_readmes_ui_filters_find_a_committed_run(store: str, runs: Path) -> None:
    """README: the runs table loads the newest runs first, so a committed run is found by the search box's filters
    (the UI passes them to search_runs as they are)."""
    import_summaries(runs, store, FOLDERS)
    readme = (REPO / "README.md").read_text()
    by_name, by_row = "attributes.run_name = 'cmnist-gerne_known-s0'", "tags.setting = 'gerne_known'"
    assert f"`{by_name}`" in readme and f"`{by_row}`" in readme
    client = MlflowClient(tracking_uri=store)
    ids = [e.experiment_id for e in client.search_experiments()]
    (run,) = client.search_runs(ids, by_name)
    assert run.data.tags["gerne.summary_path"] == f"runs/{ROW}" and "best_val/test_gba" in run.data.metrics
    assert [r.info.run_id for r in client.search_runs(ids, by_row)] == [run.info.run_id]


def test_a_second_import_imports_nothing(store: str, runs: Path) -> None:
    assert import_summaries(runs, store, FOLDERS).imported == IMPORTED
    again = import_summaries(runs, store, FOLDERS)  # the digest: no run read
    assert (again.imported, again.sweeps, again.present) == (0, 0, IMPORTED + 1)
    client = MlflowClient(tracking_uri=store)
    client.delete_experiment_tag("0", DIGEST_TAG)  # by hash, run by run
    assert import_summaries(runs, store, FOLDERS).imported == 0
    assert len(_by_path(store)) == IMPORTED + 1


def test_a_run_trained_here_is_not_imported(store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=store)
    local = client.create_run("0", run_name="cmnist-gerne_known-s0").info.run_id
    summary = json.loads((REPO / "runs" / ROW).read_text())
    path = tmp_path / "runs" / ROW
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**summary, "mlflow_run_id": local}))
    result = import_summaries(tmp_path / "runs", store, FOLDERS)
    assert (result.imported, result.present) == (0, 1) and _by_path(store) == {}


def test_a_point_of_a_sweep_trained_here_nests_under_its_run(store: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=store)
    parent = client.create_run("0", run_name="cmnist-dfr-search").info.run_id
    child = client.create_run("0", tags={"mlflow.parentRunId": parent}).info.run_id
    sweep = _copy(tmp_path / "runs", SWEEP)
    first, *_ = sorted(sweep.glob("sweep_*/seed0.json"))
    first.write_text(json.dumps({**json.loads(first.read_text()), "mlflow_run_id": child}))  # trained here
    result = import_summaries(tmp_path / "runs", store, FOLDERS)
    assert (result.imported, result.sweeps, result.present) == (POINTS - 1, 0, 1)  # one point was logged here
    assert {r.data.tags["mlflow.parentRunId"] for r in _by_path(store).values()} == {parent}


def test_a_changed_summary_replaces_its_run(store: str, runs: Path) -> None:
    import_summaries(runs, store, FOLDERS)
    old = _by_path(store)[f"runs/{ROW}"].info.run_id
    summary = json.loads((runs / ROW).read_text())
    (runs / ROW).write_text(json.dumps({**summary, "seconds_per_epoch": 9.0}))
    result = import_summaries(runs, store, FOLDERS)
    assert (result.imported, result.removed) == (1, 1)
    new = _by_path(store)[f"runs/{ROW}"]
    assert new.info.run_id != old and new.data.metrics["seconds_per_epoch"] == 9.0


def test_an_unreadable_summary_is_skipped_with_a_warning(store: str, runs: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    bad = runs / "cmnist/r0.5/erm/seed0.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"mlflow_run_id": "ab", "history": [')
    result = import_summaries(runs, store, FOLDERS)
    assert result.imported == IMPORTED and len(result.skipped) == 1 and result.skipped[0].startswith(f"{bad}: ")
    assert str(bad) in caplog.text
    assert import_summaries(runs, store, FOLDERS).skipped == result.skipped  # said again until fixed


def test_bulk_writes_what_log_batch_writes(store: str, tmp_path: Path, empty_store: Path) -> None:
    root = tmp_path / "runs"
    _copy(root, REF)
    other = tmp_path / "other.db"
    shutil.copyfile(empty_store, other)
    import_summaries(root, store, FOLDERS, bulk=True)
    import_summaries(root, f"sqlite:///{other}", FOLDERS, bulk=False)
    (bulk,), (plain,) = _by_path(store).values(), _by_path(f"sqlite:///{other}").values()
    assert bulk.data.params == plain.data.params and bulk.data.metrics == plain.data.metrics
    for key in bulk.data.metrics:
        histories = [MlflowClient(tracking_uri=u).get_metric_history(r.info.run_id, key)
                     for u, r in ((store, bulk), (f"sqlite:///{other}", plain))]
        assert [(m.step, m.value) for m in histories[0]] == [(m.step, m.value) for m in histories[1]], key


def test_headline_metrics_are_the_pipelines() -> None:
    from gerne.store_import import headline_metrics
    from pipeline.runs.common import headline_metrics as pipeline_headline

    selections = json.loads((REPO / "runs" / ROW).read_text())["selections"]
    assert headline_metrics(selections) == pipeline_headline(selections)


def test_store_init_imports_and_says_so(store: str, runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.cli import main

    monkeypatch.chdir(runs.parent)  # no params.yaml here: a summary goes to the dataset it names
    out = CliRunner().invoke(main, ["store-init"], catch_exceptions=False).output
    assert f"imported {IMPORTED} run summaries and 1 sweep parent run(s) from {runs.resolve()} in " in out
    assert "imported 0 run summaries from" in CliRunner().invoke(main, ["store-init"]).output
    assert {r.data.tags["dataset"] for r in _by_path(store).values()} == {"cmnist"}
