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
from tests.data.fixtures import tiny_mnist
from tests.helpers import set_dotted, toy_dataset

BASE = yaml.safe_load((REPO / "params.yaml").read_text())


def write_params(path: Path, **changes: object) -> Path:
    """params.yaml with dotted-key changes (a change to None deletes the key)."""
    data = copy.deepcopy(BASE)
    data["train"].update(epochs=2, seeds=[0], eval_train=False)
    set_dotted(data, **changes)
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


# ---------------------------------------------------------------- each stage says what it wrote (stderr, one line)

def wrote_line(result) -> str:
    """The stage's ``wrote …`` line on stderr (click ≥ 8.2 keeps stderr apart; ``output`` interleaves both)."""
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("wrote ")]
    assert len(lines) == 1, result.stderr
    assert "wrote " not in result.stdout
    return lines[0]


def test_train_stage_names_the_summaries_it_wrote(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"train.seeds": [0, 1, 2], "train.stack_size": 3})
    line = wrote_line(invoke(train, train_args(params, "gerne_known", "runs/r0.5/gerne_known")))
    assert line.startswith("wrote runs/r0.5/gerne_known/seed0.json … seed2.json (3 runs, test GBA best_val ")
    mean, std = (float(x) for x in line.split("best_val ")[1].rstrip(")").split(" ± "))
    summaries = [json.loads((env / f"runs/r0.5/gerne_known/seed{s}.json").read_text()) for s in (0, 1, 2)]
    gba = [100 * s["selections"]["best_val"]["metrics"]["test_gba"] for s in summaries]
    assert mean == pytest.approx(sum(gba) / 3, abs=0.05) and std >= 0.0


def test_build_stage_says_what_it_wrote_and_shows_no_bar_off_a_terminal(env: Path) -> None:
    from pipeline import build

    raw = tiny_mnist(env / "raw")
    params = write_params(env / "p.yaml", **{"cmnist.val_size": 100})
    result = invoke(build, ["--params", str(params), "--ratio", "0.5", "--raw", str(raw), "--out", "c",
                            "--counts", "counts.json"])
    assert wrote_line(result) == "wrote c and counts.json (C-MNIST 0.5 %: 1,100 / 100 / 300 images)"
    assert "img/s" not in result.stderr and "C-MNIST 0.5%" not in result.stderr  # no progress bar in a log


def test_cmnist_build_shows_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from gerne.data.cmnist import build_cmnist

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    build_cmnist(tiny_mnist(tmp_path / "raw"), tmp_path / "c", 0.5, val_size=100)
    assert "C-MNIST 0.5%" in terminal.getvalue() and "img" in terminal.getvalue()


def test_download_stage_says_what_it_wrote(env: Path, mnist_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    params = write_params(env / "p.yaml", **{"cmnist.mnist_mirror": str(mnist_mirror)})
    line = wrote_line(invoke(download, ["--params", str(params), "--out", "raw"]))
    assert line == f"wrote raw (4 MNIST files, MD5-verified, from the mirror {mnist_mirror})"


def test_biased_pseudo_and_figure3_stages_say_what_they_wrote(env: Path) -> None:
    from pipeline import biased, figures, pseudo

    params = write_params(env / "p.yaml", **{"biased.epochs": 2})
    line = wrote_line(invoke(biased, ["--params", str(params), "--ratio", "0.5", "--data", "toy",
                                      "--model-out", "m/biased.pt", "--summary", "runs/biased.json"]))
    assert line.startswith("wrote m/biased.pt and runs/biased.json (biased model f̃: val CBA ")
    assert "(best_val, epoch " in line and line.endswith("))")
    line = wrote_line(invoke(pseudo, ["--params", str(params), "--ratio", "0.5", "--data", "toy", "--model",
                                      "m/biased.pt", "--out", "pseudo.npz", "--quality", "q.json"]))
    assert line.startswith("wrote pseudo.npz and q.json (pseudo-attributes for 5 thresholds t = 0.0005, ")
    assert "pseudo-minority" in line
    line = wrote_line(invoke(figures, ["fig3", "--quality", "q.json", "--sweep", "no_sweep", "--out", "f3.png"]))
    assert line == ("wrote f3.png (Fig. 3: 5 thresholds t; the t × β sweep has not finished: precision and "
                    "recall only)")


def test_aggregate_stage_counts_runs_and_rows(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"cmnist.ratios": [0.5], "run_settings.known": ["erm"],
                                             "run_settings.unknown": [], "sweep": None,
                                             "figures.fig2_settings": ["fig2_beta_0"]})
    assert invoke(train, train_args(params, "erm", "runs/r0.5/erm")).exit_code == 0
    result = invoke(aggregate, ["--params", str(params), "--runs", "runs", "--out", "t.csv"])
    assert wrote_line(result) == "wrote t.csv (1 of 1 runs, 3 rows (one per run and selection))"
    missing = write_params(env / "p2.yaml", **{"cmnist.ratios": [0.5], "run_settings.known": ["erm", "resample"],
                                               "run_settings.unknown": [], "sweep": None})
    result = invoke(aggregate, ["--params", str(missing), "--runs", "runs", "--out", "t.csv", "--allow-missing"])
    assert wrote_line(result) == "wrote t.csv (1 of 2 runs, 3 rows (one per run and selection); 1 not run yet)"


def test_sweep_stage_names_selection_and_winner_runs(env: Path) -> None:
    from pipeline import sweep

    params = write_params(env / "p.yaml", **{"sweep.known.c": [0.5], "sweep.known.beta": [1.0, 50.0]})
    result = invoke(sweep, ["--params", str(params), "--ratio", "0.5", "--data", "toy", "--kind", "known",
                            "--sweep-dir", "sw", "--out-dir", "runs/tuned"])
    line = wrote_line(result)
    assert line.startswith("wrote sw/selected.json and runs/tuned/seed0.json (1 grid point(s) trained, 1 outside "
                           "Eq. 9 skipped; best c = 0.5, beta = 1.0: val GBA ")
    assert "; the winner: 1 run, test GBA best_val " in line


def test_tables_stage_names_its_tables(env: Path) -> None:
    from pipeline import tables
    from pipeline.config import load_params
    from pipeline.plan import write_plan

    params = write_params(env / "p.yaml")
    write_plan(load_params(params), env / "plan.yaml")
    (env / "runs").mkdir()
    args = ["--params", str(params), "--study", "table2", "--runs", "runs", "--md", "rep/t2.md", "--csv", "rep/t2.csv"]
    line = wrote_line(invoke(tables, args))
    assert line == "wrote rep/t2.md and rep/t2.csv (from 0 run selection(s) in runs)"
    assert "not run" in (env / "rep/t2.md").read_text()
