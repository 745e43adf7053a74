"""Committed results on a fresh clone, for real (`dvc repro` on a copy of this repository with its results):
nothing retrains, and bad input, trial experiments and failures never touch a committed file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import scratch, set_dotted
from tests.pipeline.conftest import copy_project, run, stage_env

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory, mnist_mirror: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = stage_env(mnist_mirror)
    for where in scratch(tmp_path_factory, "clone"):  # the four built ratios and their DVC cache: 1.3 GB
        yield copy_project(where / "project", env, keep_results=True), env


@pytest.fixture(scope="module")
def prepared(clone: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    """The clone with its datasets prepared (once per module: a no-op after the fresh-clone test, which comes first
    and builds them)."""
    root, env = clone
    run(["dvc", "repro", "data"], root, env)
    return clone


def _status(root: Path) -> str:
    """Changed and untracked files (git's view: results, reports, params, lock)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, capture_output=True,
                          text=True, check=True).stdout


def _stale(root: Path, env: dict[str, str]) -> set[str]:
    """The stages `dvc status` lists as changed (the data stage always: it checks its stamps on every run)."""
    return set(json.loads(run(["dvc", "status", "--json"], root, env).stdout))


def test_fresh_clone_rebuilds_only_the_datasets_and_trains_nothing(clone) -> None:
    root, env = clone
    proc = run(["dvc", "repro"], root, env)
    ran = set(re.findall(r"Running stage '([^']+)'", proc.stdout))
    assert ran == {"data"}, proc.stdout[-3000:]  # it fetches and prepares the 9 C-MNIST builds
    assert (proc.stdout + proc.stderr).count("wrote data/") == 1 + 9, proc.stderr[-3000:]  # the release, each build
    assert _status(root) == ""  # every committed result, report and dvc.lock entry is reused as it is
    assert _stale(root, env) == {"data"}
    assert not (root / "mlflow.db").exists()  # no stage logged a run: nothing was trained
    # DVC's own view of the results fits a terminal: the declared headline, not Table 1's 112 cells
    shown = run(["dvc", "metrics", "show"], root, env).stdout
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 2 and max(map(len, lines)) <= 140, shown  # 139 characters: one screen, not 3,059
    assert lines[0].split()[1:] == [f"{label}.r{r}" for label in ("known", "unknown") for r in (0.5, 1.0, 2.0, 5.0)]


def _edit(root: Path, **changes: object) -> None:
    data = set_dotted(yaml.safe_load((root / "params.yaml").read_text()), **changes)
    (root / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


TRAIN = "train"
BAD_INPUT = {  # params change -> the dvc command that meets it -> what the error must say
    "beta outside Eq. 9": ({"studies.rows.gerne_known.config.beta": 5.0}, ["dvc", "repro", TRAIN], "Eq. 9"),
    "device gpu": ({"studies.device": "gpu"}, ["dvc", "repro", "-f", "-s", TRAIN], "studies.device"),
    "misspelled key": ({"datasets.cmnist.epochz": 3}, ["dvc", "repro", "-f", "-s", TRAIN], "did you mean 'epochs'"),
    "missing key": ({"datasets.cmnist.lr": None}, ["dvc", "repro", "-f", "-s", TRAIN], "datasets.cmnist.lr"),
    "unknown row": ({"studies.tables.table1.rows": ["erm", "gerne_knwn"]}, ["dvc", "repro", "-f", "-s", TRAIN],
                    "gerne_knwn"),
    "trial experiment": ({}, ["dvc", "exp", "run", "--temp", "-S", "studies.rows.gerne_known.config.beta=5.0",
                              TRAIN], "Eq. 9"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_fails_clearly_and_keeps_every_committed_result(prepared, case: str) -> None:
    root, env = prepared  # the data the stage would train on is there
    changes, cmd, message = BAD_INPUT[case]
    _edit(root, **changes)
    try:
        proc = run(cmd, root, env, check=False)
        assert proc.returncode != 0, proc.stdout[-2000:]
        assert message in proc.stdout + proc.stderr
        changed = [line for line in _status(root).splitlines() if not line.endswith("params.yaml")]
        assert changed == [], f"{case}: {changed}"
    finally:
        run(["git", "checkout", "params.yaml"], root, env)
    assert json.loads(run(["dvc", "status", "--json", TRAIN], root, env).stdout) == {}  # nothing to rerun


def test_make_repro_validates_params_before_dvc_runs(clone) -> None:
    """`make repro` gives the project's did-you-mean message, not DVC's "Parameters … are missing", and runs no
    stage."""
    root, env = clone
    venv = root / ".venv"
    venv.symlink_to(Path(env["PATH"].split(":")[0]).parent)  # this venv, already installed
    stamp = root / ".installed-for-test"  # make's install stamp, newer than pyproject.toml: make never reinstalls
    stamp.touch()  # into this venv (with the venv's own stamp missing it would install the temp copy there)
    data = yaml.safe_load((root / "params.yaml").read_text())
    data["datasets"]["cmnist"]["epoch"] = data["datasets"]["cmnist"].pop("epochs")
    (root / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        proc = run(["make", "repro", f"STAMP={stamp.name}"], root, env, check=False)
    finally:
        venv.unlink()
        stamp.unlink()
        run(["git", "checkout", "params.yaml"], root, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "datasets.cmnist.epoch: unknown key (did you mean 'epochs'?)" in out, out[-2000:]
    assert "Running stage" not in out and "are missing" not in out


def test_a_new_method_module_reruns_the_train_stage_which_retrains_nothing(prepared) -> None:
    """The train stage depends on the packages it runs: a new method's module reruns it, and every committed run is
    reused by its fingerprint (no MLflow run opened, no summary, model or report touched)."""
    root, env = prepared
    added = root / "gerne/methods/another.py"
    added.write_text('"""A module a newcomer adds."""\n')
    try:
        assert _stale(root, env) == {"data", "train"}
        proc = run(["dvc", "repro", "train"], root, env)
        assert "Running stage 'train'" in proc.stdout and "already" in proc.stdout + proc.stderr
        assert _status(root).splitlines() == [" M dvc.lock", "?? gerne/methods/another.py"]
        assert not (root / "mlflow.db").exists()  # nothing trained, nothing logged
    finally:
        added.unlink()
        run(["git", "checkout", "dvc.lock"], root, env)


def test_a_mirror_on_this_machine_changes_no_stage_and_no_lock(prepared, mnist_mirror: Path) -> None:
    """Where the release files come from is machine-local (local.yaml or $GERNE_MIRROR_<DATASET>): no stage goes
    stale and dvc.lock stays as committed; the schema refuses `mirror` in params.yaml and says where it goes."""
    root, env = prepared
    (root / "local.yaml").write_text(f"mirrors:\n  cmnist: {mnist_mirror}\n")
    try:
        assert _stale(root, {**env, "GERNE_MIRROR_CMNIST": str(mnist_mirror)}) == {"data"}
        shutil.rmtree(root / "data/raw/cmnist")
        proc = run(["dvc", "repro", "-s", "data"], root, env)  # fetched again, from local.yaml's mirror
        assert str(mnist_mirror) in proc.stdout + proc.stderr and "data/cmnist/r0.5 is current" in proc.stderr
        assert _status(root) == ""  # local.yaml is git-ignored; no committed file changed
    finally:
        (root / "local.yaml").unlink()
    _edit(root, **{"datasets.cmnist.mirror": str(mnist_mirror)})
    try:
        proc = run(["gerne", "validate"], root, env, check=False)
        assert proc.returncode != 0 and "local.yaml" in proc.stderr, proc.stderr[-2000:]
    finally:
        run(["git", "checkout", "params.yaml"], root, env)


def test_a_stage_reruns_only_when_what_it_reads_changed(prepared) -> None:
    """Another seed stales the training, the reports, the figures and the benchmarks' pricing, never a
    measurement; a new study of one's own stales the training (its fingerprints decide) and the reports, not the
    figures nor the benchmarks' measurements."""
    root, env = prepared
    _edit(root, **{"studies.seeds": [0, 1, 2, 3]})
    try:
        assert _stale(root, env) == {"data", "train", "report", "figures", "benchmark_report"}
    finally:
        run(["git", "checkout", "params.yaml"], root, env)
    _edit(root, **{"studies.tables.mine": {"report": "study", "datasets": ["cmnist_r5"], "rows": ["gerne_known"]}})
    try:
        assert _stale(root, env) == {"data", "train", "report", "benchmark_report"}
    finally:
        run(["git", "checkout", "params.yaml"], root, env)
