"""The biased model and its pseudo-attributes are byte-deterministic files (a fresh clone's DVC hashes match)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipeline.config import load_params
from pipeline.runs.biased import derive_pseudo, train_biased
from tests.helpers import toy_dataset
from tests.pipeline.test_stages import write_params


@pytest.fixture
def params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    toy_dataset(tmp_path / "toy")
    return load_params(write_params(tmp_path / "p.yaml", **{"biased.epochs": 2}))


def test_same_training_gives_the_same_checkpoint_and_pseudo_bytes(params, tmp_path: Path) -> None:
    for name in ("a", "b"):
        train_biased(params, "toy", 0.5, f"{name}/biased.pt", f"{name}/biased.json")
    assert Path("a/biased.pt").read_bytes() == Path("b/biased.pt").read_bytes()
    derive_pseudo(params, "toy", "a/biased.pt", "a/pseudo.npz", "a/pseudo.json", 0.5)
    time.sleep(2.1)  # a timestamped archive would differ now
    derive_pseudo(params, "toy", "b/biased.pt", "b/pseudo.npz", "b/pseudo.json", 0.5)
    assert Path("a/pseudo.npz").read_bytes() == Path("b/pseudo.npz").read_bytes()
    assert json.loads(Path("a/pseudo.json").read_text()) == json.loads(Path("b/pseudo.json").read_text())
    leftovers = [p.name for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
    assert leftovers == []
