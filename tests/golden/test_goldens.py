"""Golden summaries: the current code's toy runs of every kind equal those of the code that trained the committed
C-MNIST results (frozen at commit 4809c76), apart from run ids and timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.toy_runs import toy_runs

GOLDEN = Path(__file__).parent / "toy"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, ) -> dict:
    import os

    work = tmp_path_factory.mktemp("golden")
    cwd, uri = os.getcwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(work)
    try:
        return json.loads(json.dumps(toy_runs(work)))
    finally:
        os.chdir(cwd)
        if uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = uri


def test_every_run_kind_has_a_golden(runs: dict) -> None:
    assert sorted(runs) == sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("kind", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_run_equals_its_golden(runs: dict, kind: str) -> None:
    golden = json.loads((GOLDEN / f"{kind}.json").read_text())
    assert runs[kind] == golden
