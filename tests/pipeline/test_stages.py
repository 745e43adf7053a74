"""Stage commands on small real files: a good run, and bad input → clear error, exit 1, nothing finished-looking."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from gerne.data import mnist
from pipeline import aggregate, download, report, train
from tests.conftest import REPO
from tests.helpers import toy_dataset

BASE = yaml.safe_load((REPO / "params.yaml").read_text())


def write_params(path: Path, **changes: object) -> Path:
    """params.yaml with dotted-key changes (a change to None deletes the key)."""
    data = copy.deepcopy(BASE)
    data["train"].update(epochs=2, seeds=[0], eval_train=False)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    toy_dataset(tmp_path / "toy")
    return tmp_path


def invoke(command, args: list[str]):
    return CliRunner().invoke(command.main, args, catch_exceptions=False)


def train_args(params: Path, setting: str, out_dir: str = "runs") -> list[str]:
    return ["--params", str(params), "--ratio", "0.5", "--setting", setting, "--data", "toy", "--out-dir", out_dir]


def test_train_stage_writes_summary_and_mlflow_run(env: Path) -> None:
    result = invoke(train, train_args(write_params(env / "p.yaml"), "gerne_known"))
    assert result.exit_code == 0, result.output
    summary = json.loads((env / "runs/seed0.json").read_text())
    assert summary["epochs_run"] == 2 and set(summary["selections"]) == {"last", "best_val", "oracle"}
    assert [h["epoch"] for h in summary["history"]] == [1, 2] and "train_gba" not in summary["history"][0]
    run = MlflowClient(tracking_uri=f"sqlite:///{env / 'mlflow.db'}").get_run(summary["mlflow_run_id"])
    assert run.data.tags["setting"] == "gerne_known" and run.data.params["setting.beta"] == "1.0"


def test_beta_above_eq9_bound_is_refused_before_training(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"settings.gerne_known.beta": 5.0})
    result = invoke(train, train_args(params, "gerne_known"))
    assert result.exit_code == 1
    assert "outside the Eq. 9 bounds" in result.output and "alpha =" in result.output
    assert not (env / "runs").exists()
    assert not (env / "mlflow.db").exists()  # refused before any run was opened


def test_misspelled_key_is_named_with_a_suggestion(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"train.epoch": 3})
    result = invoke(train, train_args(params, "gerne_known"))
    assert result.exit_code == 1
    assert "train.epoch" in result.output and "did you mean 'epochs'" in result.output
    assert not (env / "runs").exists()


def test_unknown_setting_and_ratio(env: Path) -> None:
    params = write_params(env / "p.yaml")
    result = invoke(train, train_args(params, "gerne_knwn"))
    assert result.exit_code == 1 and "unknown setting 'gerne_knwn'" in result.output
    args = train_args(params, "erm")
    args[args.index("--ratio") + 1] = "3.0"
    result = invoke(train, args)
    assert result.exit_code == 1 and "ratio 3.0 is not in cmnist.ratios" in result.output


def test_corrupt_dataset_file(env: Path) -> None:
    (env / "toy" / "images.npy").write_bytes(b"not a numpy file")
    result = invoke(train, train_args(write_params(env / "p.yaml"), "erm"))
    assert result.exit_code == 1 and "corrupt" in result.output
    assert not (env / "runs").exists()


def test_pseudo_setting_without_pseudo_file(env: Path) -> None:
    result = invoke(train, train_args(write_params(env / "p.yaml"), "gerne_unknown"))
    assert result.exit_code == 1 and "pseudo" in result.output


def test_download_without_mirror_or_network_names_both_fixes(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])
    result = invoke(download, ["--params", str(write_params(env / "p.yaml")), "--out", "raw"])
    assert result.exit_code == 1
    assert "GERNE_MNIST_MIRROR" in result.output and "cmnist.mnist_mirror" in result.output
    assert not (env / "raw").exists() or not any((env / "raw").iterdir())


def test_download_from_mirror_param(env: Path, mnist_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    params = write_params(env / "p.yaml", **{"cmnist.mnist_mirror": str(mnist_mirror)})
    assert invoke(download, ["--params", str(params), "--out", "raw"]).exit_code == 0
    assert sorted(p.name for p in (env / "raw").iterdir()) == sorted(mnist.MNIST_FILES)


def test_aggregate_names_a_missing_summary(env: Path) -> None:
    result = invoke(aggregate, ["--params", str(write_params(env / "p.yaml")), "--runs", "runs", "--out", "t.csv"])
    assert result.exit_code == 1 and "runs/r0.5/erm/seed0.json" in result.output
    assert not (env / "t.csv").exists()


def test_aggregate_and_report_from_real_runs(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"cmnist.ratios": [0.5], "run_settings.unknown": [], "sweep": None})
    for setting in ("erm", "resample", "gerne_known"):
        assert invoke(train, train_args(params, setting, f"runs/r0.5/{setting}")).exit_code == 0
    assert invoke(aggregate, ["--params", str(params), "--runs", "runs", "--out", "t.csv"]).exit_code == 0
    result = invoke(report, ["--params", str(params), "--runs-table", "t.csv", "--out", "reports/t1"])
    assert result.exit_code == 0, result.output
    md = (env / "reports/t1.md").read_text()
    assert "| erm | ERM | none |" in md and "35.19 ± 3.49" in md and "Selection: oracle" in md


def test_stacked_seeds_write_one_summary_and_run_each(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"train.seeds": [0, 1], "train.stack_size": 2})
    assert invoke(train, train_args(params, "resample")).exit_code == 0
    ids = [json.loads((env / f"runs/seed{s}.json").read_text())["mlflow_run_id"] for s in (0, 1)]
    client = MlflowClient(tracking_uri=f"sqlite:///{env / 'mlflow.db'}")
    runs = [client.get_run(i) for i in ids]
    assert [r.data.tags["seed"] for r in runs] == ["0", "1"]
    assert all(r.data.tags["stacked_runs"] == "2" and r.info.status == "FINISHED" for r in runs)


def test_setting_can_score_the_train_split(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"settings.gerne_known.eval_train": True})
    assert invoke(train, train_args(params, "gerne_known")).exit_code == 0
    history = json.loads((env / "runs/seed0.json").read_text())["history"]
    assert {"train_aligned_acc", "train_conflicting_acc"} <= set(history[0])
