"""Table 1's C-CIFAR-10 column end to end on a tiny CIFAR-10 release in the real pickle layout: downloaded over
HTTP (a local server stands in for the Toronto and PyPI hosts; the release checksums are the fixture's),
verified, built, the reference model, the rows trained, the report with C-CIFAR-10 cells beside the paper's."""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gerne.data import ccifar10, cifar10
from gerne.data.corruptions import frost
from gerne.data.sources import Source
from pipeline.config import parse_params
from pipeline.reports import table1
from pipeline.reports.runs import collect, sources, table1_runs
from pipeline.reports.study import columns
from pipeline.studies import reference, stages
from tests.conftest import REPO
from tests.data.corruptions.conftest import fake_wheel
from tests.data.fixtures import cifar10_release, tar_folder

ROWS = ["erm", "resample", "gerne_known", "gerne_unknown"]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fixture archive and wheel on a local HTTP server, and the kind's sources pointing at it."""
    site = tmp_path / "site"
    release = cifar10_release(tmp_path / "release", train_per_class=24, test_per_class=10)
    batches = {name: hashlib.md5((release / name).read_bytes()).hexdigest() for name in cifar10.BATCHES}
    site.mkdir()
    archive = tar_folder(release, site / cifar10.ARCHIVE.name)
    textures = fake_wheel(site / frost.WHEEL.name, list(frost.TEXTURES))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    sources = tuple(Source(f.name, urls=(f"{url}/{f.name}",), md5=hashlib.md5(f.read_bytes()).hexdigest(),
                           extract=f is archive) for f in (archive, site / frost.WHEEL.name))
    monkeypatch.setattr(ccifar10, "SOURCES", sources)
    monkeypatch.setattr(cifar10, "BATCHES", batches)
    monkeypatch.setattr(frost, "TEXTURES", textures)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield url
    server.shutdown()


def _params() -> object:
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["studies"].update({"seeds": [0], "device": "cpu"})
    data["studies"]["tables"]["table1"].update({"datasets": ["ccifar10"], "rows": ROWS})
    data["datasets"]["ccifar10"].update({
        "prepare": {"ratio": 5.0, "corruptions": "type0", "val_size": 40, "seed": 0},
        "model_options": {"pretrained": False}, "epochs": 1, "steps_per_epoch": 2, "batch_size": 2,
        "eval_batch_size": 64, "precision": "fp32", "pseudo_thresholds": [1.0, 2.0]})
    return parse_params(data)


def test_ccifar10_column_from_download_to_report(served: str, tmp_path: Path) -> None:
    p = _params()
    folder = p.datasets["ccifar10"].dir  # the dataset's folder, as the train stage names it
    raw, data = tmp_path / "data/raw/ccifar10", tmp_path / "data" / folder
    sums = stages.fetch(p, "ccifar10", raw)
    assert set(sums) == {cifar10.ARCHIVE.name, frost.WHEEL.name, *cifar10.BATCHES}
    built = stages.prepare(p, "ccifar10", raw, data)
    assert sum(built["counts"]["test"].values()) == 100 and sum(built["counts"]["val"].values()) == 40

    ckpt, scores = tmp_path / "models/biased.pt", tmp_path / "pseudo.npz"
    reference.train_reference(p, "ccifar10", data, ckpt, tmp_path / "runs" / folder / "biased.json")
    reference.score(p, "ccifar10", data, ckpt, scores, tmp_path / "pseudo.json")
    runs = tmp_path / "runs"
    for row in ROWS:
        stages.train(p, "ccifar10", row, data, runs / folder / row,
                     scores if p.studies.rows[row].groups == "confidence" else None)

    table = table1_runs(collect(runs, sources(p)), columns(p, "table1"), ROWS, [0])
    assert set(table["benchmark"]) == {"ccifar10"} and len(table) == 3 * len(ROWS)
    md = table1.to_markdown(table1.summary(table), {r: "" for r in ROWS}, 1)
    row = next(line for line in md.splitlines() if line.startswith("| resample"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2].startswith("not run (paper 77.68")  # C-MNIST 0.5 %: not in this study
    assert "(paper 62.16 ± 0.05, Δ" in cells[9] and not cells[9].startswith("not run")  # C-CIFAR-10 5 %
    assert cells[10] == "not run (paper 69.80 ± 1.33)"  # bFFHQ
