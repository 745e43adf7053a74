"""`gerne trial`'s overrides are applied by DVC's own `-S` grammar and checked as
`gerne validate` checks them before anything starts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gerne.errors import ConfigError
from pipeline.cli import main
from pipeline.trial import apply_overrides, planned, trial
from tests.conftest import REPO
from tests.helpers import toy_dataset


def test_overrides_are_applied_by_dvcs_own_grammar() -> None:
    """What the trial validates is what DVC will run: a mapping merges, + adds a key, ~ deletes one."""
    data = {"studies": {"tables": {"mine": {"rows": ["yes_yes"], "rows_on": {"a": ["x"], "b": ["y"]}}}},
            "datasets": {"mine": {"lr": 0.1}}}
    out = apply_overrides(data, ["studies.tables.mine.rows=[yes_yes, erm]", "datasets.mine.lr=1.0e-3",
                                 "+datasets.mine_6px.prepare={image_size: 6}", "studies.tables.mine.rows_on={a: [z]}"])
    assert out["studies"]["tables"]["mine"]["rows"] == ["yes_yes", "erm"]
    assert out["datasets"]["mine"]["lr"] == 1.0e-3 and out["datasets"]["mine_6px"]["prepare"] == {"image_size": 6}
    assert out["studies"]["tables"]["mine"]["rows_on"] == {"a": ["z"], "b": ["y"]}  # merged, as DVC does
    out = apply_overrides(data, ["~studies.tables.mine.rows_on", "datasets.mine.lr=.inf"])
    assert "rows_on" not in out["studies"]["tables"]["mine"]
    assert out["datasets"]["mine"]["lr"] == ".inf"  # a string to DVC too: the schema refuses it


@pytest.mark.parametrize(("override", "message"), [
    ("datasets.mine.lr", "missing EQUAL"),
    ("=3", "-S '=3'"),
    ("datasets.mine.lr.x=3", r"\+datasets.mine.lr.x=3"),
    ("datasets.mine_6px.prepare={image_size: 6}", r"To append to your config use \+datasets.mine_6px"),
])
def test_malformed_overrides_are_refused(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_overrides({"datasets": {"mine": {"lr": 0.1}}}, [override])


def test_a_trial_queues_only_when_its_overrides_change_the_stage_list(tmp_path: Path) -> None:
    for name in ("params.yaml", "plan.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    committed = (tmp_path / "plan.yaml").read_text()
    assert planned(tmp_path, ["datasets.waterbirds.lr=1.0e-3", "datasets.cmnist.epochs=2"]) == (committed, False)
    text, changed = planned(tmp_path, ["studies.tables.table2.datasets=[waterbirds]"])
    assert changed and "sweep" in text and "waterbirds-yes_yes" in text
    with pytest.raises(ConfigError, match="did you mean 'waterbirds'"):
        planned(tmp_path, ["studies.tables.table2.datasets=[waterbird]"])
    assert (tmp_path / "plan.yaml").read_text() == committed  # nothing written


def _workspace(tmp_path: Path) -> Path:
    """params.yaml and plan.yaml of the repository, with C-MNIST 0.5 % prepared (a toy stand-in) under data/."""
    for name in ("params.yaml", "plan.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")  # Eq. 9 at c = 0.5: [-1.0619, 2.0390]
    return tmp_path


def _nothing_runs(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"a trial the stages would refuse started {args}")


def test_a_trial_with_beta_outside_eq9_is_refused_before_anything_is_queued(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gerne validate`'s checks run on the overridden params before any DVC command or the MLflow store starts."""
    root = _workspace(tmp_path)
    monkeypatch.setattr(subprocess, "run", _nothing_runs)
    with pytest.raises(ConfigError) as info:
        trial(root, ["studies.rows.gerne_known.config.beta=5.0"], [], None, before=_nothing_runs)
    message = str(info.value)
    assert "1 problem(s) the stages would refuse; nothing was started" in message
    assert "studies.rows.gerne_known: beta = 5.0 (c = 0.5; trained on cmnist) is refused on the known training " \
           "groups of cmnist: beta = 5.0 is outside the Eq. 9 bounds [-1.0619, 2.0390]" in message


def test_gerne_trial_exits_non_zero_on_what_validate_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.setattr(subprocess, "run", _nothing_runs)
    result = CliRunner().invoke(main, ["trial", "-S", "studies.rows.gerne_known.config.beta=5.0", "-S",
                                       "datasets.cmnist.lr=.inf"])
    # DVC's -S hands `.inf` over as a string (Hydra's grammar), so that is what the trial validates and refuses
    assert result.exit_code == 1 and "datasets.cmnist.lr: Input should be a valid number, got '.inf'" in result.output
    result = CliRunner().invoke(main, ["trial", "-S", "studies.rows.gerne_known.config.beta=5.0"])
    assert result.exit_code == 1 and "beta = 5.0 is outside the Eq. 9 bounds" in result.output
    assert not (root / "mlflow.db").exists()  # the store is created only for a trial that starts


def test_a_failed_queued_experiment_is_found_in_dvcs_queue(tmp_path: Path) -> None:
    """`dvc exp run --run-all` exits 0 when a queued experiment fails; the trial reads DVC's own queue status
    instead (a real DVC repository whose one stage fails)."""
    from pipeline.trial import _failed

    def sh(*cmd: str) -> None:
        subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True, text=True)

    (tmp_path / "params.yaml").write_text("a: 1\n")
    (tmp_path / "dvc.yaml").write_text("stages:\n  fails:\n    cmd: python -c 'import sys; sys.exit(3)'\n"
                                       "    params: [a]\n")
    sh("git", "init", "-q")
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "root")
    sh("dvc", "init", "-q")
    sh("git", "add", "-A")
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "dvc")
    assert _failed(tmp_path) == []
    sh("dvc", "exp", "run", "--queue", "-n", "doomed", "-S", "a=2")
    done = subprocess.run(["dvc", "exp", "run", "--run-all"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0  # what the trial cannot rely on
    assert _failed(tmp_path) == ["doomed"]
