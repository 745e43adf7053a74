"""End to end: a real training run, `gerne ui`, and the pages real headless Chromium renders from it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from gerne.ui import experiment_links, run_url, runs_view_url
from pipeline import train
from tests.helpers import toy_dataset
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
    """Visible text of a DOM dump, and the cell texts of every ``role="row"`` element."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self._skip = 0
        self._stack: list[str | None] = []  # the role of each open element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        role = dict(attrs).get("role")
        if role == "row":
            self.rows.append([])
        elif role == "cell" and self.rows:
            self.rows[-1].append("")
        if tag not in VOID:
            self._stack.append(role)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if self._stack and tag not in VOID:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if "cell" in self._stack and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()


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
    toy_dataset(tmp_path / "toy")
    result = CliRunner().invoke(train.main, train_args(write_params(tmp_path / "p.yaml"), "gerne_known"),
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / "runs/seed0.json").read_text())


@pytest.fixture
def ui_server(logged_run: dict, tmp_path: Path):
    """`gerne ui` on a free port of 127.0.0.1 for the store in tmp_path, once the run is in and it has printed its
    links (after the server answered): (base URL, stdout)."""
    if not GERNE.is_file():
        pytest.fail(f"no console script {GERNE}: install the project (`make setup` or `pip install -e .`)")
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "PATH": f"{GERNE.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(GERNE), "ui", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
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
        os.killpg(proc.pid, 15)  # the server and its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


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
