"""The Ray launcher through `dvc repro`: a sweep stage fans out on a 2-CPU local cluster, writes the serial
launcher's summaries (on as many threads), logs into the project's store, and switching back to serial retrains
nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_params
from pipeline.studies import stages
from tests.pipeline.conftest import run
from tests.pipeline.studies.test_launch import VARYING, _on_threads
from tests.pipeline.test_own_dataset import _declare, write_png_dataset


def _summaries(folder: Path) -> dict[str, dict]:
    return {str(p.relative_to(folder)): {k: v for k, v in json.loads(p.read_text()).items() if k not in VARYING}
            for p in sorted(folder.rglob("seed*.json"))}


@pytest.mark.integration
def test_a_sweep_stage_on_ray_writes_the_serial_summaries(project_copy: tuple[Path, dict[str, str]], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, env = project_copy
    write_png_dataset(root / "mydata")
    _declare(root, ["yes_yes"])
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["launch"] = {"launcher": "ray", "num_cpus": 1.0, "object_store_memory": 100 * 2**20}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["gerne", "store-init"], root, env)
    run(["dvc", "repro", "train"], root, env)
    ray_runs = {**_summaries(root / "runs/sweeps/mine/yes_yes"), **_summaries(root / "runs/mine/yes_yes")}
    assert len(ray_runs) == 2 + 2  # two configs; the winner at both seeds (seed 0 is its search run)
    with sqlite3.connect(root / "mlflow.db") as db:  # the tasks logged into the project's store
        finished = db.execute("select count(*) from runs r join experiments e using (experiment_id) "
                              "where e.name = 'mine' and r.status = 'FINISHED'").fetchone()[0]
    assert finished == 2 + 1 + 1  # the configs, the other seed, the search's parent run

    params["launch"] = {"launcher": "serial"}  # no stage depends on the launcher
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert json.loads(run(["dvc", "status", "--json", "train"], root, env).stdout) == {}  # up to date

    monkeypatch.chdir(root)  # the same stage's work, serial on the tasks' one thread, in fresh folders
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'serial.db'}")
    p = load_params(root / "params.yaml")
    _on_threads(1, lambda: stages.search(p, "mine", "yes_yes", root / "data/mine", tmp_path / "sweep",
                                         tmp_path / "runs"))
    assert {**_summaries(tmp_path / "sweep"), **_summaries(tmp_path / "runs")} == ray_runs
