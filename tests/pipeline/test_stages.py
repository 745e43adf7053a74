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
from pipeline import data, report, train
from tests.conftest import REPO
from tests.helpers import set_dotted, toy_dataset

BASE = yaml.safe_load((REPO / "params.yaml").read_text())


def design(**changes: object) -> dict:
    """The committed design on C-MNIST 0.5 % alone (Table 1 with one column), 2 epochs, seed 0, on the CPU, with
    dotted-key changes (a change to None deletes the key)."""
    data = copy.deepcopy(BASE)
    data["datasets"] = {k: v for k, v in data["datasets"].items() if not k.startswith("cmnist_")}
    data["datasets"]["cmnist"]["epochs"] = 2
    data["studies"].update(seeds=[0], device="cpu")
    data["studies"]["tables"]["table1"]["datasets"] = ["cmnist"]
    data["studies"]["tables"] = {k: v for k, v in data["studies"]["tables"].items()  # studies of the dropped ones
                                 if all(d in data["datasets"] for d in v.get("datasets", []))}
    set_dotted(data, **changes)
    return data


def write_params(path: Path, **changes: object) -> Path:
    """:func:`design` as a params file."""
    path.write_text(yaml.safe_dump(design(**changes), sort_keys=False))
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    toy_dataset(tmp_path / TOY)
    return tmp_path


def invoke(command, args: list[str]):
    return CliRunner().invoke(command.main, args, catch_exceptions=False)


TOY = "data/cmnist/r0.5"  # C-MNIST 0.5 %'s prepared folder holds a toy dataset here
RAW = "data/raw/cmnist"
RUNS = "runs/cmnist/r0.5"


def train_args(params: Path, row: str) -> list[str]:
    return ["--params", str(params), "--dataset", "cmnist", "--row", row]


def test_train_stage_writes_summary_and_mlflow_run(env: Path) -> None:
    result = invoke(train, train_args(write_params(env / "p.yaml"), "gerne_known"))
    assert result.exit_code == 0, result.output
    summary = json.loads((env / RUNS / "gerne_known/seed0.json").read_text())
    assert summary["epochs_run"] == 2 and set(summary["selections"]) == {"last", "best_val", "oracle"}
    assert [h["epoch"] for h in summary["history"]] == [1, 2] and "train_gba" not in summary["history"][0]
    run = MlflowClient(tracking_uri=f"sqlite:///{env / 'mlflow.db'}").get_run(summary["mlflow_run_id"])
    assert run.data.tags["setting"] == "gerne_known" and run.data.params["search_config.beta"] == "1.0"
    assert run.data.tags["stage"] == "train" and run.data.tags["dataset"] == "cmnist"
    assert "beyond_eq9_bound" not in summary and "beyond_eq9_bound" not in summary["config"]["row"]  # a normal run


def test_beta_above_eq9_bound_is_refused_before_training(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"studies.rows.gerne_known.config.beta": 5.0})
    result = invoke(train, train_args(params, "gerne_known"))
    assert result.exit_code == 1
    assert "outside the Eq. 9 bounds" in result.output and "alpha =" in result.output
    assert not (env / "runs").exists()
    assert not (env / "mlflow.db").exists()  # refused before any run was opened


def test_override_row_trains_the_literal_beta_beyond_eq9(env: Path, caplog: pytest.LogCaptureFixture) -> None:
    """beyond_eq9_bound (Fig. 2 only): a β above Eq. 9 (toy data: [-1.0619, 2.0390] at c = 0.5) trains as given,
    with a loud warning, and its summary and fingerprint say so; the same β in a normal row is refused as before."""
    params = write_params(env / "p.yaml", **{"studies.rows.fig2_beta_1p2.config.beta": 2.5,
                                              "studies.rows.fig2_beta_1p3.config.beta": 2.5})
    refused = invoke(train, train_args(params, "fig2_beta_1p2"))
    assert refused.exit_code == 1 and not (env / RUNS / "fig2_beta_1p2").exists()
    assert ("beta = 2.5 is outside the Eq. 9 bounds [-1.0619, 2.0390] for c = 0.5 on the fig2_beta_1p2 training "
            "groups of cmnist: the upper bound is set by group") in refused.output
    with caplog.at_level("WARNING", logger="gerne.methods.gerne"):
        result = invoke(train, train_args(params, "fig2_beta_1p3"))
    assert result.exit_code == 0, result.output
    assert "BEYOND EQ. 9: beta = 2.5 is outside the Eq. 9 bounds [-1.0619, 2.0390]" in caplog.text
    summary = json.loads((env / RUNS / "fig2_beta_1p3/seed0.json").read_text())
    config = summary["config"]
    assert summary["beyond_eq9_bound"] is True and summary["eq9_bounds"] == pytest.approx([-1.0619, 2.0390], abs=1e-4)
    assert config["beta"] == config["search_config"]["beta"] == config["training"]["beta"] == 2.5  # not β_u
    assert config["training"]["beyond_eq9_bound"] is True and config["row"]["beyond_eq9_bound"] is True
    assert summary["epochs_run"] >= 1 and isinstance(summary["diverged"], bool)
    run = MlflowClient(tracking_uri=f"sqlite:///{env / 'mlflow.db'}").get_run(summary["mlflow_run_id"])
    assert run.data.tags["beyond_eq9_bound"] == "True" and run.data.params["beta"] == "2.5"


def test_misspelled_key_is_named_with_a_suggestion(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"datasets.cmnist.epoch": 3})
    result = invoke(train, train_args(params, "gerne_known"))
    assert result.exit_code == 1
    assert "datasets.cmnist.epoch" in result.output and "did you mean 'epochs'" in result.output
    assert not (env / "runs").exists()


def test_unknown_row_dataset_and_a_searching_row(env: Path) -> None:
    params = write_params(env / "p.yaml")
    result = invoke(train, train_args(params, "gerne_knwn"))
    assert result.exit_code == 1 and "unknown row 'gerne_knwn'" in result.output and "gerne_known" in result.output
    args = train_args(params, "erm")
    args[args.index("--dataset") + 1] = "cmnist_r3"
    result = invoke(train, args)
    assert result.exit_code == 1 and "declares no dataset 'cmnist_r3'" in result.output
    result = invoke(train, train_args(params, "jtt_adam"))  # declared, but no study trains it
    assert result.exit_code == 1 and "no study trains jtt_adam on cmnist" in result.output


def test_corrupt_dataset_file(env: Path) -> None:
    (env / TOY / "images.npy").write_bytes(b"not a numpy file")
    result = invoke(train, train_args(write_params(env / "p.yaml"), "erm"))
    assert result.exit_code == 1 and "corrupt" in result.output
    assert not (env / "runs").exists()


def test_pseudo_row_without_scores(env: Path) -> None:
    result = invoke(train, train_args(write_params(env / "p.yaml"), "gerne_unknown"))
    assert result.exit_code == 1 and "models/cmnist/r0.5/pseudo.npz" in result.output
    assert not (env / "runs").exists()


def test_fetch_without_mirror_or_network_names_both_fixes(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ["http://127.0.0.1:9/"])
    result = invoke(data, ["--params", str(write_params(env / "p.yaml"))])
    assert result.exit_code == 1
    assert "GERNE_MNIST_MIRROR" in result.output and "local.yaml" in result.output
    assert not (env / RAW).exists() or not any((env / RAW).iterdir())


@pytest.mark.parametrize("where", ["local.yaml", "GERNE_MIRROR_CMNIST"])
def test_fetch_from_this_machines_mirror_says_what_it_wrote(env: Path, mnist_mirror: Path, where: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The mirror is machine-local (local.yaml or $GERNE_MIRROR_<DATASET>), never a param of the stage."""
    monkeypatch.delenv(mnist.MIRROR_ENV, raising=False)
    if where == "local.yaml":
        (env / "local.yaml").write_text(f"mirrors:\n  cmnist: {mnist_mirror}\n")
    else:
        monkeypatch.setenv(where, str(mnist_mirror))
    params = write_params(env / "p.yaml")
    result = invoke(data, ["--params", str(params)])
    fetched, prepared = wrote_lines(result)
    assert sorted(p.name for p in (env / RAW).iterdir()) == sorted([*mnist.MNIST_FILES, "checksums.json"])
    assert fetched == f"wrote {RAW} (cmnist: 4 release file(s) verified, checksums in {RAW}/checksums.json)"
    assert prepared.startswith(f"wrote {TOY} (cmnist: 55,000 / 5,000 / 10,000 samples, ")
    again = invoke(data, ["--params", str(params)])  # a second run finds both current and writes nothing
    assert not wrote_lines(again) and f"{TOY} is current" in again.stderr and "release already in" in again.stderr


def report_line(result, path: str) -> str:
    """The report stage's ``wrote <path>…`` line."""
    (line,) = [line for line in wrote_lines(result) if line.startswith(f"wrote {path}")]
    return line


def test_report_stage_on_no_runs_says_none_ran(env: Path) -> None:
    result = invoke(report, ["--params", str(write_params(env / "p.yaml"))])
    assert report_line(result, "metrics/cmnist_runs.csv") == \
        "wrote metrics/cmnist_runs.csv (0 of 14 runs, 0 rows (one per run and selection); 14 not run yet)"
    assert "not run" in (env / "reports/tables/table1_cmnist.md").read_text()


def test_report_stage_from_real_runs(env: Path) -> None:
    rows = ["erm", "resample", "gerne_known"]
    params = write_params(env / "p.yaml", **{"studies.tables.table1.rows": rows})
    for row in rows:
        assert invoke(train, train_args(params, row)).exit_code == 0
    result = invoke(report, ["--params", str(params)])
    assert result.exit_code == 0, result.output
    md = (env / "reports/tables/table1_cmnist.md").read_text()
    assert "| erm | – (class-balanced ERM; the paper's ERM row is erm_vanilla's) | none |" in md
    assert "| resample | GERNE (c = 1, β = 0) | known |" in md and "77.68 ± 0.89" in md and "Selection: oracle" in md
    full = (env / "reports/tables/table1.md").read_text()
    assert "| erm | none | " in full and "not run (paper 45.10 ± 0.60)" in full  # C-CIFAR-10 0.5 %: off
    assert (env / "reports/REPRODUCTION.md").is_file() and (env / "reports/baselines.md").is_file()


def test_stacked_seeds_write_one_summary_and_run_each(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"studies.seeds": [0, 1], "studies.stack_size": 2})
    assert invoke(train, train_args(params, "resample")).exit_code == 0
    ids = [json.loads((env / RUNS / f"resample/seed{s}.json").read_text())["mlflow_run_id"] for s in (0, 1)]
    client = MlflowClient(tracking_uri=f"sqlite:///{env / 'mlflow.db'}")
    runs = [client.get_run(i) for i in ids]
    assert [r.data.tags["seed"] for r in runs] == ["0", "1"]
    assert all(r.data.tags["stacked_runs"] == "2" and r.info.status == "FINISHED" for r in runs)


def test_a_row_can_score_the_train_split(env: Path) -> None:
    params = write_params(env / "p.yaml")
    assert invoke(train, train_args(params, "fig2_beta_1")).exit_code == 0
    history = json.loads((env / RUNS / "fig2_beta_1/seed0.json").read_text())["history"]
    assert {"train_aligned_acc", "train_conflicting_acc"} <= set(history[0])


def test_a_finished_seed_is_reused_not_retrained(env: Path) -> None:
    params = write_params(env / "p.yaml")
    assert invoke(train, train_args(params, "erm")).exit_code == 0
    first = (env / RUNS / "erm/seed0.json").read_bytes()
    params = write_params(env / "p.yaml", **{"studies.seeds": [0, 1]})
    assert invoke(train, train_args(params, "erm")).exit_code == 0
    assert (env / RUNS / "erm/seed0.json").read_bytes() == first and (env / RUNS / "erm/seed1.json").is_file()
    ids = {json.loads((env / RUNS / f"erm/seed{s}.json").read_text())["mlflow_run_id"] for s in (0, 1)}
    assert len(ids) == 2


# ---------------------------------------------------------------- each stage says what it wrote (stderr, one line)

def wrote_lines(result) -> list[str]:
    """The stage's ``wrote …`` lines on stderr (click ≥ 8.2 keeps stderr apart; ``output`` interleaves both)."""
    assert result.exit_code == 0, result.output
    assert "wrote " not in result.stdout
    return [line for line in result.stderr.splitlines() if line.startswith("wrote ")]


def wrote_line(result) -> str:
    """The stage's one ``wrote …`` line."""
    lines = wrote_lines(result)
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_train_stage_names_the_summaries_it_wrote(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"studies.seeds": [0, 1, 2], "studies.stack_size": 3})
    line = wrote_line(invoke(train, train_args(params, "gerne_known")))
    assert line.startswith("wrote runs/cmnist/r0.5/gerne_known/seed0.json … seed2.json (3 runs, best_val: test GBA ")
    summaries = [json.loads((env / f"runs/cmnist/r0.5/gerne_known/seed{s}.json").read_text()) for s in (0, 1, 2)]
    for label, metric in (("test GBA ", "test_gba"), ("test WGA ", "test_wga")):  # both, as every report shows
        mean, std = (float(x) for x in line.split(label)[1].split(",")[0].rstrip(")").split(" ± "))
        values = [100 * s["selections"]["best_val"]["metrics"][metric] for s in summaries]
        assert mean == pytest.approx(sum(values) / 3, abs=0.05) and std >= 0.0


def test_data_stage_says_what_it_wrote_and_shows_no_bar_off_a_terminal(env: Path) -> None:
    from tests.data.fixtures import tiny_mnist

    raw = tiny_mnist(env / RAW)
    (raw / "checksums.json").write_text("{}")  # fetched already: the stage prepares only
    params = write_params(env / "p.yaml", **{"datasets.cmnist.prepare.val_size": 100})
    result = invoke(data, ["--params", str(params)])
    line = wrote_line(result)
    assert line.startswith(f"wrote {TOY} (cmnist: 1,100 / 100 / 300 samples, ")
    assert "img/s" not in result.stderr and "C-MNIST 0.5%" not in result.stderr  # no progress bar in a log
    stamp = json.loads((env / TOY / "prepared.json").read_text())
    assert stamp["kind"] == "cmnist" and stamp["prepare"]["val_size"] == 100 and stamp["code"].startswith("sha256:")
    changed = write_params(env / "p.yaml", **{"datasets.cmnist.prepare.val_size": 200})  # another option: rebuilt
    assert wrote_line(invoke(data, ["--params", str(changed)])).startswith(f"wrote {TOY} (cmnist: 1,000 / 200 / ")


def test_cmnist_build_shows_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from gerne.data.cmnist import build_cmnist
    from tests.data.fixtures import tiny_mnist

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    build_cmnist(tiny_mnist(tmp_path / "raw"), tmp_path / "c", 0.5, val_size=100)
    assert "C-MNIST 0.5%" in terminal.getvalue() and "img" in terminal.getvalue()


def test_reference_scores_and_figure3_say_what_they_wrote(env: Path) -> None:
    from pipeline import figures

    params = write_params(env / "p.yaml")
    result = invoke(train, ["--params", str(params), "--only", "reference", "--only", "scores"])
    reference, scores = wrote_lines(result)
    assert reference.startswith("wrote models/cmnist/r0.5/biased.pt and runs/cmnist/r0.5/biased.json (reference "
                                "model f̃: val CBA ")
    assert "(best_val, epoch " in reference and reference.endswith("))")
    assert scores.startswith("wrote models/cmnist/r0.5/pseudo.npz and models/cmnist/r0.5/pseudo.json (confidence of "
                             "every training sample; pseudo-minority sizes t = 0.0005: ")
    files = [env / "models/cmnist/r0.5" / name for name in ("biased.pt", "pseudo.npz", "pseudo.json")]
    before = [f.stat().st_mtime_ns for f in files]
    assert invoke(train, ["--params", str(params), "--only", "reference", "--only", "scores"]).exit_code == 0
    assert [f.stat().st_mtime_ns for f in files] == before  # f̃ reused, its scores unchanged: nothing rewritten
    line = wrote_line(invoke(figures, ["fig3", "--quality", "models/cmnist/r0.5/pseudo.json", "--sweep", "no_sweep",
                                       "--out", "f3.png"]))
    assert line == ("wrote f3.png (Fig. 3: 5 thresholds t; the t × β sweep has not finished: precision and "
                    "recall only)")


def test_report_stage_counts_runs_and_rows(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"studies.tables.table1.rows": ["erm"]})
    assert invoke(train, train_args(params, "erm")).exit_code == 0
    result = invoke(report, ["--params", str(params)])
    assert report_line(result, "metrics/cmnist_runs.csv") == \
        "wrote metrics/cmnist_runs.csv (1 of 1 runs, 4 rows (one per run and selection))"  # + test
    missing = write_params(env / "p2.yaml", **{"studies.tables.table1.rows": ["erm", "resample"]})
    result = invoke(report, ["--params", str(missing)])
    assert report_line(result, "metrics/cmnist_runs.csv") == \
        "wrote metrics/cmnist_runs.csv (1 of 2 runs, 4 rows (one per run and selection); 1 not run yet)"


def test_a_searching_row_names_its_selection_and_winner_runs(env: Path) -> None:
    params = write_params(env / "p.yaml", **{"studies.rows.gerne_tuned_known.search": {"c": [0.5],
                                                                                       "beta": [1.0, 50.0]}})
    line = wrote_line(invoke(train, train_args(params, "gerne_tuned_known")))
    assert line.startswith("wrote runs/sweeps/cmnist/r0.5/gerne_tuned_known/selected.json and "
                           f"{RUNS}/gerne_tuned_known/seed0.json (1 configs, 1 outside Eq. 9 skipped; "
                           "best sweep_known_c0.5_b1.0: val_gba ")
    assert "; the winner: 1 run, best_val: test GBA " in line and ", test WGA " in line


def test_report_stage_names_every_table(env: Path) -> None:
    params = write_params(env / "p.yaml")
    (env / "runs").mkdir()
    line = report_line(invoke(report, ["--params", str(params)]), "reports/tables/table2.md")
    assert line == "wrote reports/tables/table2.md and reports/tables/table2.csv (from 0 run selection(s) in runs)"
    assert "not run" in (env / "reports/tables/table2.md").read_text()
