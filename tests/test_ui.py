"""End to end: a real training run, `gerne ui`, and the pages real headless Chromium renders from it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from gerne.ui import experiment_links, run_url, runs_view_url
from pipeline import train
from tests.conftest import MNIST_SHARED
from tests.helpers import scratch, toy_dataset
from tests.pipeline.conftest import copy_project, stage_env
from tests.pipeline.test_stages import train_args, write_params

GERNE = Path(sys.executable).with_name("gerne")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture
def chromium() -> str:
    """Path of the headless browser; missing is a failure (checked before anything trains)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not on PATH: `make test` installs it (Makefile target `browser`), "
                    "or run `apt-get install chromium`")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Page(HTMLParser):
    """Visible text of a DOM dump; the cell texts of every ``role="row"`` element (``rows``); and a data grid's (the
    runs table, ag-grid): ``grid`` {row-id: {col-id: the cell's text pieces, space-separated}}, a row's pinned and
    scrolled parts merged, and ``headers`` {col-id: the column header's text}."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.grid: dict[str, dict[str, str]] = {}
        self.headers: dict[str, str] = {}
        self._skip = 0
        # each open element: its role, its row-id (a grid row) and where its text goes (a grid cell or header)
        self._stack: list[tuple[str | None, str | None, tuple[dict[str, str], str] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        a = dict(attrs)
        role, col, target = a.get("role"), a.get("col-id"), None
        if role == "row":
            self.rows.append([])
        elif role == "cell" and self.rows:
            self.rows[-1].append("")
        elif role == "gridcell" and col:
            row_id = next((r for _, r, _ in reversed(self._stack) if r), None)
            if row_id:
                target = (self.grid.setdefault(row_id, {}), col)
        elif role == "columnheader" and col:
            target = (self.headers, col)
        if target:
            target[0][col] = ""
        if tag not in VOID:
            self._stack.append((role, a.get("row-id") if role == "row" else None, target))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if self._stack and tag not in VOID:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if any(role == "cell" for role, _, _ in self._stack) and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()
        target = next((t for _, _, t in reversed(self._stack) if t), None)
        if target and data.strip():
            cells, col = target
            cells[col] = f"{cells[col]} {data.strip()}".lstrip()


def _render(chromium: str, url: str, profile: Path) -> _Page:
    """The DOM of ``url`` after the React app has rendered, parsed."""
    out = subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    page = _Page()
    page.feed(out.stdout)
    return page


def _js_number(value: float) -> str:
    """``value`` as the UI prints it (JavaScript's Number → string: full precision, no trailing .0)."""
    return str(int(value)) if value.is_integer() else repr(value)


@pytest.fixture
def logged_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """One real Table 1 run through the train stage into experiment cmnist of a fresh SQLite store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert experiment_links(f"sqlite:///{tmp_path / 'mlflow.db'}", "http://x") == []
    assert not (tmp_path / "mlflow.db").exists()  # looking did not create the store
    toy_dataset(tmp_path / "data/cmnist/r0.5")
    result = CliRunner().invoke(train.main, train_args(write_params(tmp_path / "p.yaml"), "gerne_known"),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "runs/cmnist/r0.5/gerne_known/seed0.json").read_text())


@contextmanager
def _gerne_ui(cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Iterator[tuple[str, str]]:
    """`gerne ui --host 127.0.0.1 --port <free port>` run in ``cwd`` with ``env``, its output in ``log``, until it has
    printed its links (after the server answered): (base URL, its output so far). Its process group (the MLflow
    server and its workers) is stopped afterwards."""
    if not GERNE.is_file():
        pytest.fail(f"no console script {GERNE}: install the project (`make setup` or `pip install -e .`)")
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([str(GERNE), "ui", "--host", "127.0.0.1", "--port", str(port)], cwd=cwd, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200 and "MLflow UI ready" in log.read_text():
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`gerne ui` did not come up on {base} (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, log.read_text()
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group ``proc`` leads, SIGKILL to what is left of it after 15 s."""
    with suppress(ProcessLookupError):  # gone already (`gerne ui` failed): the caller's failure is the news
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:  # the whole group is gone
                return
        time.sleep(0.2)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def ui_server(logged_run: dict, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`gerne ui` on a free port of 127.0.0.1 for the store in tmp_path, once the run is in and it has printed its
    links: (base URL, stdout)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "PATH": f"{GERNE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with _gerne_ui(tmp_path, env, tmp_path / "ui.log", timeout=60) as started:
        yield started


@pytest.mark.integration
def test_ui_opens_runs_table_and_run_page_shows_headline_metric(chromium: str, logged_run: dict, ui_server,
                                                                 tmp_path: Path) -> None:
    base, stdout = ui_server
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}").get_run(logged_run["mlflow_run_id"])
    exp_id, name = run.info.experiment_id, run.info.run_name
    runs_url = runs_view_url(base, exp_id)
    assert f"  cmnist: {runs_url}\n" in stdout, stdout
    assert "Default:" not in stdout

    runs_view = _render(chromium, runs_url, tmp_path / "chrome-runs")
    text = " ".join(" ".join(runs_view.text).split())
    assert "Runs - Experiment" in text and name in text, text[:3000]
    assert "best_val/test_gba" in text, f"no headline column (the shared view of gerne.ui): {text[:3000]}"
    for genai in ("Detect Issues in Your Traces", "Token Usage", "No data available"):
        assert genai not in text, f"the runs view shows MLflow's GenAI overview ({genai!r}): {text[:3000]}"

    value = logged_run["selections"]["best_val"]["metrics"]["test_gba"]
    run_page = _render(chromium, run_url(base, exp_id, run.info.run_id), tmp_path / "chrome-run")
    metrics = {row[0]: row[1] for row in run_page.rows if len(row) == 2}
    assert "best_val/test_gba" in metrics, f"run page metrics: {metrics}"
    assert metrics["best_val/test_gba"] == _js_number(value), metrics


@pytest.fixture
def committed_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh copy of the repository with its committed results, and a user's environment (the venv on PATH, no
    MLFLOW_TRACKING_URI: the copy's own ./mlflow.db); removed afterwards, passed or not."""
    for where in scratch(tmp_path_factory, "ui-clone"):
        env = stage_env(MNIST_SHARED)
        yield copy_project(where / "project", env, keep_results=True), env


@pytest.mark.integration
def test_fresh_clone_ui_shows_committed_runs_with_headline_metric(chromium: str, committed_copy) -> None:
    """Issue 25, item 1: in a fresh copy, the README's command that opens the UI (`make ui` = `gerne ui`, here on a
    free port; `make ui` would first build the copy its own venv) imports the committed run summaries (> 300), and
    the runs table its `cmnist` link opens shows committed runs, each with the best_val/test_gba its summary
    (runs/cmnist/r0.5/<row>/seed<n>.json) records."""
    root, env = committed_copy
    with _gerne_ui(root, env, root.parent / "ui.log", timeout=300) as (base, stdout):
        imported = re.search(r"^MLflow store: imported (\d+) run summaries", stdout, re.M)
        assert imported and int(imported[1]) > 300, stdout
        assert "not imported" not in stdout, stdout
        assert f"MLflow UI for sqlite:///{root.resolve()}/mlflow.db: starting on {base}\n" in stdout, stdout
        link = re.search(r"^  cmnist: (\S+)$", stdout, re.M)
        view_link = link and re.fullmatch(re.escape(runs_view_url(base, "ID")).replace("ID", r"\d+"), link[1])
        assert view_link, f"no link to the runs view of experiment cmnist: {stdout}"
        view = _render(chromium, link[1], root.parent / "chrome")

    gba = "metrics.`best_val/test_gba`"  # the column's id in the runs table (gerne.ui.HEADLINE_VIEW)
    assert view.headers.get(gba) == "best_val/test_gba", f"column headers: {view.headers}"
    # README: a run is named <dataset>-<row>-s<seed>. The table loads the newest 100 runs first, and an imported run
    # starts its training time before the import, so which committed runs that page shows depends on their durations
    # (runs/cmnist/r0.5/gerne_known/seed0.json is not among them): every one it shows is checked.
    committed = {f"cmnist-{p.parent.name}-s{p.stem.removeprefix('seed')}": p
                 for p in (root / "runs/cmnist/r0.5").glob("*/seed*.json")}
    shown = {cells.get("attributes.`Run Name`", "").split(" ")[-1]: cells for cells in view.grid.values()}
    found = sorted(set(shown) & set(committed))
    assert found, f"no committed run of runs/cmnist/r0.5 in the runs table: {sorted(shown)}"
    for name in found:
        value = json.loads(committed[name].read_text())["selections"]["best_val"]["metrics"]["test_gba"]
        assert shown[name].get(gba) == _js_number(value), (name, committed[name], shown[name])
