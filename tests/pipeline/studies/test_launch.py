"""The launchers: a sweep on a Ray cluster (local with 1 CPU, and two simulated nodes logging to an MLflow server
started here) writes the serial launcher's summaries, byte for byte at the same torch thread count (other counts
change the losses' last digits only); a task killed mid-sweep costs its own runs only."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import ray
import torch
import yaml

from gerne.errors import ConfigError, GerneError
from gerne.io import partial_dir
from pipeline.config import parse_params
from pipeline.studies import stages
from tests.conftest import REPO
from tests.helpers import toy_dataset

VARYING = ("mlflow_run_id", "seconds_per_epoch")  # what differs between two runs of the same config and seed
LOSSES = ("loss_b", "loss_lb", "loss_ext")  # GERNE's logged losses: their last digits depend on the thread count
ROW = "gerne_tuned_known"
GRID = {"c": [0.5, 1.0], "beta": [-0.5, 0.0]}  # four points


def _params(launch: dict, epochs: int = 3, seeds: tuple[int, ...] = (0, 1), **cmnist: object) -> object:
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["datasets"]["cmnist"].update({"epochs": epochs, "steps_per_epoch": 4, "batch_size": 8,
                                       "eval_batch_size": 256, "model_options": {"hidden": [16]}, **cmnist})
    data["studies"].update(seeds=list(seeds), device="cpu")
    data["studies"]["rows"][ROW].update(search=GRID, test_selection=False)  # the grid's runs and the winner's
    data["launch"] = launch
    return parse_params(data)


def _summaries(folder: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(folder.rglob("seed*.json")):
        summary = json.loads(path.read_text())
        out[str(path.relative_to(folder))] = {k: v for k, v in summary.items() if k not in VARYING}
    return out


def _sweep(p: object, data: Path, root: Path) -> dict:
    return stages.search(p, "cmnist", ROW, data, root / "sweep", root / "runs")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toy_dataset(tmp_path_factory.mktemp("launch") / "cmnist")


def _on_threads(threads: int, train: Callable[[], object]) -> object:
    """``train()`` in this process on ``threads`` torch threads (a serial stage's: its process's count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return train()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def serial_run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The serial sweep on one torch thread, as many as a ``num_cpus: 1.0`` task trains on."""
    root = tmp_path_factory.mktemp("serial")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    try:
        choice = _on_threads(1, lambda: _sweep(_params({}), data, root))
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]
    return choice, {**_summaries(root / "sweep"), **_summaries(root / "runs")}


@pytest.fixture
def local_cluster() -> Iterator[None]:
    ray.init(num_cpus=1, object_store_memory=100 * 2**20, include_dashboard=False)
    yield
    ray.shutdown()


def test_launch_parameters_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"launch\.launcher"):
        _params({"launcher": "dask"})
    with pytest.raises(ConfigError, match="num_cpus"):
        _params({"launcher": "ray", "num_cpus": 0.0})


def test_ray_launcher_without_ray_says_how_to_install(data: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[pipeline,ray\]'"):
        _sweep(_params({"launcher": "ray"}), data, tmp_path)
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_on_a_local_cluster_writes_the_serial_summaries(local_cluster: None, data: Path, tmp_path: Path,
                                                                 serial_run: tuple[dict, dict],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    choice = _sweep(_params({"launcher": "ray", "num_cpus": 1.0}), data, tmp_path)
    serial_choice, serial = serial_run
    assert {**_summaries(tmp_path / "sweep"), **_summaries(tmp_path / "runs")} == serial
    assert choice["best"] == serial_choice["best"] and len(serial) == 4 + 2  # four points, the winner's other seed
    assert {s["torch_threads"] for s in serial.values()} == {1}  # recorded: what the summaries' equality rests on


def _wide(out: Path) -> Path:
    """C-MNIST-sized inputs (28×28×3, 10 classes): wide enough that the torch thread count reaches the losses."""
    return toy_dataset(out, n_per_split=(1200, 300, 300), K=10, side=28)


def _kept(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VARYING}


def _leaves(value: object, path: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _leaves(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _leaves(item, f"{path}[{i}]").items()}
    return {path: value}


def test_summaries_are_equal_at_equal_thread_counts_and_differ_in_losses_only_otherwise(
        local_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's claim on C-MNIST-sized inputs, where two threads sum some products in another order than one."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    data = _wide(tmp_path / "wide")

    def train(name: str, launch: dict) -> dict:
        p = _params(launch, epochs=2, seeds=(0,), batch_size=100, eval_batch_size=8192,
                    model_options={"hidden": [100, 100, 100]})
        stages.train(p, "cmnist", "gerne_known", data, tmp_path / name)
        return json.loads((tmp_path / name / "seed0.json").read_text())

    ray_run = train("ray", {"launcher": "ray", "num_cpus": 1.0})
    one, two = (_on_threads(n, lambda n=n: train(f"serial{n}", {})) for n in (1, 2))
    assert (ray_run["torch_threads"], one["torch_threads"], two["torch_threads"]) == (1, 1, 2)
    assert json.dumps(_kept(ray_run)) == json.dumps(_kept(one))  # byte for byte
    ones, twos = _leaves(_kept(one)), _leaves(_kept(two))
    assert ones.keys() == twos.keys()
    differ = {k for k in ones if json.dumps(ones[k]) != json.dumps(twos[k])} - {".torch_threads"}
    assert all(k.rsplit(".", 1)[1] in LOSSES for k in differ), differ  # every metric and selection is equal
    assert all(twos[k] == pytest.approx(ones[k], rel=1e-6) for k in differ)  # the losses' last digits at most


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[str]:
    port, env = _free_port(), {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    cmd = [sys.executable, "-m", "pipeline.cli", "server", "--port", str(port),
           "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"the MLflow server did not start: {proc.stdout.read1().decode()[-2000:]}")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_two_nodes_log_to_a_tracking_server(data: Path, tmp_path: Path, tracking_server: str,
                                            serial_run: tuple[dict, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20})
    cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    try:
        ray.init(address=cluster.address)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        _sweep(_params({"launcher": "ray", "num_cpus": 1.0}), data, tmp_path)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert {**_summaries(tmp_path / "sweep"), **_summaries(tmp_path / "runs")} == serial_run[1]
    client = MlflowClient(tracking_server)
    (exp,) = [e for e in client.search_experiments() if e.name == "cmnist"]
    logged = {r.info.run_id: r for r in client.search_runs([exp.experiment_id], max_results=100)}
    ids = {json.loads(f.read_text())["mlflow_run_id"] for f in (tmp_path / "sweep").glob("*/seed0.json")}
    assert ids <= set(logged) and all(logged[i].info.status == "FINISHED" for i in ids)
    parent = {logged[i].data.tags["mlflow.parentRunId"] for i in ids}
    assert len(parent) == 1 and logged[parent.pop()].data.tags["stage"] == "sweep"


def _task_processes() -> list[int]:
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if "ray::gerne:" in " ".join(proc.info["cmdline"] or []):
            found.append(proc.info["pid"])
    return found


def test_a_task_killed_mid_sweep_costs_its_own_runs_only(local_cluster: None, data: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    p = _params({"launcher": "ray", "num_cpus": 1.0}, epochs=40)
    work, failure = partial_dir(tmp_path / "sweep"), []

    def sweep() -> None:
        try:
            _sweep(p, data, tmp_path)
        except GerneError as exc:
            failure.append(exc)

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline, killed = time.monotonic() + 240, None
    while killed is None and time.monotonic() < deadline:
        if list(work.glob("*/seed0.json")) and (running := _task_processes()):
            killed = running[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(timeout=300)
    assert killed is not None and not thread.is_alive()
    assert failure and "rerunning the stage trains the missing runs only" in str(failure[0])
    kept = {f.parent.name: json.loads(f.read_text())["mlflow_run_id"] for f in work.glob("*/seed0.json")}
    assert 1 <= len(kept) < 4 and not (tmp_path / "sweep").exists()  # the stage failed: nothing swapped in
    _sweep(_params({}, epochs=40), data, tmp_path)  # the rerun (serial) trains the missing points only
    after = {f.parent.name: json.loads(f.read_text())["mlflow_run_id"]
             for f in (tmp_path / "sweep").glob("*/seed0.json")}
    assert len(after) == 4 and all(after[name] == run_id for name, run_id in kept.items())
