"""A Ray stage that cannot go on stops at once, for real (subprocesses, signals, a Ray cluster of 1 CPU): a cluster
address nothing answers at fails the stage in seconds, before it writes anything, and SIGTERM ends a stage that waits
on a task, its run closed KILLED as in a serial stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gerne.errors import ConfigError
from gerne.store import init_store
from pipeline.studies.launch import CONNECT_TIMEOUT_S, LaunchParams, check_cluster
from tests.helpers import store_runs, toy_dataset
from tests.pipeline.test_stages import write_params

pytestmark = pytest.mark.integration
NOWHERE = "127.0.0.1:1"  # nothing listens on port 1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_cluster_address_nothing_answers_at_fails_within_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    import ray  # noqa: F401  (imported before the clock starts: on a loaded machine the import alone takes seconds)

    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        check_cluster(LaunchParams(launcher="ray", address=NOWHERE))
    assert time.monotonic() - start < CONNECT_TIMEOUT_S + 60  # a liveness guard (the bug: no exit after 300 s)
    assert f"launch.address is '{NOWHERE}'" in str(err.value) and "`ray start --head`" in str(err.value)
    assert 'set launch.address to ""' in str(err.value)

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")  # named by the environment instead
    with pytest.raises(ConfigError, match=r"\$RAY_ADDRESS is .*unset RAY_ADDRESS"):
        check_cluster(LaunchParams(launcher="ray"))
    check_cluster(LaunchParams(launcher="serial", address=NOWHERE))  # the serial launcher never connects
    check_cluster(LaunchParams(launcher="ray", address="local"))  # a new local cluster: nothing to check


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"-ERR unknown command\r\n"],
                         ids=["silent", "web server", "redis"])
def test_a_port_that_answers_but_is_no_ray_cluster_fails_within_the_timeout(reply: bytes,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The hole the socket probe left: a listening port that is not Ray's GCS made ``ray.init`` retry for minutes."""
    import contextlib
    import socket
    import threading

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    server = socket.create_server(("", 0))  # every interface: Ray reads 127.0.0.1 as this node's IP
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):  # the probe may hang up first
            conn.recv(64)
            conn.sendall(reply)
            if reply:
                conn.shutdown(socket.SHUT_WR)
            time.sleep(CONNECT_TIMEOUT_S + 1)  # a silent port keeps the connection open

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    import ray  # noqa: F401  (before the clock, as above)

    start = time.monotonic()
    with server, pytest.raises(ConfigError) as err:
        check_cluster(LaunchParams(launcher="ray", address=f"127.0.0.1:{port}"))
    assert time.monotonic() - start < CONNECT_TIMEOUT_S + 60  # a liveness guard (the bug: minutes of retries)
    assert f":{port}, but it does not speak gRPC" in str(err.value) and "something listens at" in str(err.value)
    assert "`ray start --head`" in str(err.value)


def test_a_running_cluster_passes_the_check(cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    check_cluster(LaunchParams(launcher="ray", address=cluster))  # its GCS answers the gRPC handshake


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    toy_dataset(tmp_path / "data/cmnist/r0.5")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "PYTHONUNBUFFERED": "1",
           "DVC_STAGE": "train"}
    env.pop("RAY_ADDRESS", None)
    return tmp_path, env


def _train(root: Path, address: str, epochs: int) -> list[str]:
    params = write_params(root / "p.yaml", **{"datasets.cmnist.epochs": epochs, "studies.seeds": [0],
                                              "launch": {"launcher": "ray", "address": address, "num_cpus": 1.0}})
    return [sys.executable, "-m", "pipeline.train", "--params", str(params), "--dataset", "cmnist", "--row",
            "gerne_known"]


def _runs(root: Path) -> list:
    return store_runs(root / "mlflow.db")


def test_a_stage_on_an_unreachable_cluster_exits_at_once_and_writes_nothing(toy) -> None:
    root, env = toy
    start = time.monotonic()
    done = subprocess.run(_train(root, NOWHERE, 3), cwd=root, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - start
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"error: launch.address is '{NOWHERE}', but no Ray cluster answers" in done.stderr
    assert "`ray start --head`" in done.stderr
    assert seconds < 200  # a liveness guard, not a speed bound: without the check the stage never exits
    assert not (root / "runs").exists() and _runs(root) == []


@pytest.fixture
def cluster() -> Iterator[str]:
    """A running Ray cluster of one CPU (its head's address), started here and stopped after the test."""
    from ray.cluster_utils import Cluster

    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20,
                                                          "include_dashboard": False})
    try:
        yield head.address
    finally:
        head.shutdown()


def test_sigterm_ends_a_stage_waiting_on_a_task_and_its_run_killed(toy, cluster: str) -> None:
    root, env = toy
    init_store(env["MLFLOW_TRACKING_URI"], ["cmnist"])  # before the stage and its task log there: polling it races
    proc = subprocess.Popen(_train(root, cluster, 100000), cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 180
    while not any(r.info.status == "RUNNING" for r in _runs(root)):
        assert proc.poll() is None, f"the stage ended early ({proc.returncode}):\n{proc.stdout.read()[-3000:]}"
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("the task's run never started")
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    try:  # a liveness guard, not a speed bound: the 100,000 steps would take hours, 130 says SIGTERM ended them
        out = proc.communicate(timeout=300)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the stage ignored SIGTERM for 300 s:\n{proc.communicate()[0][-3000:]}") from None
    assert proc.returncode == 130, out[-3000:]
    assert "interrupted (received SIGTERM)" in out
    (run,) = _runs(root)
    assert run.info.status == "KILLED" and run.data.tags["dvc_stage"] == "train"
    assert run.data.tags["pid"] != str(proc.pid)  # the task's run, closed by the task itself
    assert not (root / "runs/cmnist/r0.5/gerne_known").exists()
