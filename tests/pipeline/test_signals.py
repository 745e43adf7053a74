"""Killed stages, for real (subprocesses and signals): MLflow runs end KILLED, previous results stay, stale RUNNING
runs of a kill -9 are closed when the stage starts again, and a killed sweep resumes to bit-identical results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import store_runs, toy_dataset
from tests.pipeline.test_stages import RUNS, TOY, write_params

pytestmark = pytest.mark.integration


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    toy_dataset(tmp_path / TOY)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "PYTHONUNBUFFERED": "1",
           "DVC_STAGE": "train"}
    return tmp_path, env


def _runs(root: Path) -> list:
    return store_runs(root / "mlflow.db")


def _start(root: Path, env: dict[str, str], args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"stage ended early ({proc.returncode}):\n{proc.stdout.read()[-3000:]}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("timed out waiting for the stage")
        time.sleep(0.1)


def _train(root: Path, params: Path) -> list[str]:
    return ["pipeline.train", "--params", str(params), "--dataset", "cmnist", "--row", "gerne_known"]


def test_sigterm_ends_the_run_killed_and_keeps_the_previous_result(toy) -> None:
    root, env = toy
    (root / RUNS / "gerne_known").mkdir(parents=True)
    (root / RUNS / "gerne_known/seed0.json").write_text('{"committed": true}\n')
    proc = _start(root, env, _train(root, write_params(root / "p.yaml", **{"datasets.cmnist.epochs": 100000})))
    _wait_for(lambda: any(r.info.status == "RUNNING" for r in _runs(root)), proc)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "interrupted (received SIGTERM)" in out
    (run,) = _runs(root)
    assert run.info.status == "KILLED"
    assert run.data.tags["dvc_stage"] == "train" and run.data.tags["pid"] == str(proc.pid)
    assert (root / RUNS / "gerne_known/seed0.json").read_text() == '{"committed": true}\n'


def test_runs_left_running_by_kill_9_are_closed_when_the_stage_starts_again(toy) -> None:
    root, env = toy
    proc = _start(root, env, _train(root, write_params(root / "long.yaml", **{"datasets.cmnist.epochs": 100000})))
    _wait_for(lambda: any(r.info.status == "RUNNING" for r in _runs(root)), proc)
    proc.kill()
    proc.wait(timeout=30)
    (orphan,) = _runs(root)
    assert orphan.info.status == "RUNNING"  # nothing could close it
    subprocess.run([sys.executable, "-m", *_train(root, write_params(root / "p.yaml"))], cwd=root, env=env,
                   check=True, capture_output=True)
    status = {r.info.run_id: r.info.status for r in _runs(root)}
    assert status.pop(orphan.info.run_id) == "KILLED"
    assert list(status.values()) == ["FINISHED"]


def _history(path: Path) -> list[dict]:
    return json.loads(path.read_text())["history"]


def test_killed_sweep_resumes_to_the_same_results(toy) -> None:
    root, env = toy
    params = write_params(root / "p.yaml", **{"datasets.cmnist.epochs": 15,
                                              "studies.rows.gerne_tuned_known.search": {"c": [0.5, 1.0],
                                                                                        "beta": [0.0, 0.5]}})

    sweep = ["pipeline.train", "--params", str(params), "--dataset", "cmnist", "--row", "gerne_tuned_known"]
    subprocess.run([sys.executable, "-m", *sweep], cwd=root, env=env, check=True, capture_output=True)
    for name in ("runs", "models"):  # the uninterrupted sweep's results, set aside
        (root / name).rename(root / f"straight_{name}")
    partial = root / "runs/sweeps/cmnist/r0.5/.gerne_tuned_known.partial"
    proc = _start(root, env, sweep)
    _wait_for(lambda: any(partial.glob("*/seed0.json")), proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert not (root / "runs/sweeps/cmnist/r0.5/gerne_tuned_known").exists()  # nothing finished-looking is left
    finished = sorted(p.parent.name for p in partial.glob("*/seed0.json"))
    assert 1 <= len(finished) < 4
    resumed = subprocess.run([sys.executable, "-m", *sweep], cwd=root, env=env, check=True,
                             capture_output=True, text=True)
    assert f"{finished[0]} already trained" in resumed.stdout + resumed.stderr
    straight, killed = (root / f"{runs}/sweeps/cmnist/r0.5/gerne_tuned_known" for runs in ("straight_runs", "runs"))
    assert sorted(p.name for p in killed.iterdir()) == sorted(p.name for p in straight.iterdir())
    for point in (p for p in straight.iterdir() if p.is_dir()):
        assert _history(killed / point.name / "seed0.json") == _history(point / "seed0.json")
    assert json.loads((killed / "selected.json").read_text()) == json.loads((straight / "selected.json").read_text())
    for seed in (0,):
        tuned = f"cmnist/r0.5/gerne_tuned_known/seed{seed}.json"
        assert _history(root / "runs" / tuned) == _history(root / "straight_runs" / tuned)
    assert not partial.exists()
    statuses = sorted(r.info.status for r in _runs(root))
    assert "RUNNING" not in statuses and "KILLED" in statuses
