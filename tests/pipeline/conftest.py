"""Fixtures for pipeline tests: a throw-away copy of the project as its own git + DVC repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SKIP_DIRS = {".git", ".venv", "mlruns", "mlartifacts", ".pytest_cache", ".ruff_cache"}
RESULTS = ("runs", "metrics", "reports", "models", "data")  # committed results and the artefacts they depend on


def project_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files of the checkout (what a fresh clone plus local edits holds)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    return [f for f in out if f and f.split("/")[0] not in SKIP_DIRS and (REPO / f).is_file()]


def copy_project(root: Path, env: dict[str, str], keep_results: bool) -> Path:
    """The checkout's files as a new git repository at ``root`` (a fresh clone), with or without the committed
    results."""
    for rel in project_files():
        if not keep_results and rel.split("/")[0] in RESULTS:
            continue
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    run(["git", "init", "-q"], root, env)
    run(["git", "add", "-A"], root, env)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], root, env)
    return root


def stage_env(mirror: Path) -> dict[str, str]:
    """Environment of a user who activated the venv and set the MNIST mirror; no tracking URI override."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GERNE_MNIST_MIRROR"] = str(mirror)
    env["PYTHONUNBUFFERED"] = "1"
    return env


RUN_TIMEOUT = 1500  # s: below pytest's own timeout (pyproject), so a hung command fails with its output


def run(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """``cmd`` in ``cwd``; AssertionError with the tail of its output when it fails (with ``check``) or hangs."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out, err = (x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (e.stdout, e.stderr))
        raise AssertionError(f"{' '.join(cmd)} still running after {RUN_TIMEOUT} s:\n{out[-4000:]}\n"
                             f"{err[-4000:]}") from None
    if check and proc.returncode != 0:
        tail = f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return proc


@pytest.fixture
def project_copy(tmp_path: Path, mnist_mirror: Path) -> tuple[Path, dict[str, str]]:
    """A committed copy of the project in a temp dir, with its environment."""
    env = stage_env(mnist_mirror)
    return copy_project(tmp_path / "project", env, keep_results=False), env


def only_study(params: dict, name: str, study: dict) -> dict:
    """``params`` (a params.yaml mapping) training ``study`` alone: the other studies, Table 3 and the figures
    dropped (``figures: null``; the Fig. 2-only rows beyond Eq. 9 with them), so that `dvc repro` in a copy without
    the committed results trains only what the test is about."""
    params["studies"]["tables"] = {name: study}
    params["studies"]["table3"]["datasets"] = []
    params["figures"] = None
    params["studies"]["rows"] = {r: spec for r, spec in params["studies"]["rows"].items()
                                 if not spec.get("beyond_eq9_bound")}
    return params
