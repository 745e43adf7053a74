"""Toy-dataset runs of every run kind (biased, pseudo-attributes, known, none, pseudo, stacked, sweep point), as the
golden summaries of `tests/golden/toy/` hold them. `python -m tests.golden.toy_runs OUT` writes them; the test
compares the current code's runs with the committed goldens (frozen from the code that trained the committed
C-MNIST results), byte for byte apart from run ids and timings."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

VOLATILE = ("mlflow_run_id", "seconds_per_epoch")


def stripped(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without what differs between identical runs (run id, timing, the temp data directory)."""
    out = json.loads(json.dumps({k: v for k, v in summary.items() if k not in VOLATILE}))
    out.get("config", {}).get("data", {}).pop("dir", None)
    return out


def toy_runs(work: Path) -> dict[str, dict[str, Any]]:
    """Train every run kind on the toy dataset in ``work``; returns ``{kind: stripped summary}``."""
    from pipeline.config import load_params
    from pipeline.runs.biased import derive_pseudo, train_biased
    from pipeline.runs.sweep import run_sweep
    from pipeline.runs.train import train_runs
    from tests.helpers import toy_dataset
    from tests.pipeline.test_stages import write_params

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    data = toy_dataset(work / "toy")
    params = load_params(write_params(work / "p.yaml", **{
        "train.epochs": 3, "biased.epochs": 3, "train.seeds": [0],
        "sweep.known": {"c": [0.5], "beta": [0.5]}}))
    out: dict[str, dict[str, Any]] = {}
    out["biased"] = train_biased(params, data, 0.5, work / "biased.pt", work / "biased.json")
    derive_pseudo(params, data, work / "biased.pt", work / "pseudo.npz", work / "pseudo.json", 0.5)
    out["pseudo_quality"] = json.loads((work / "pseudo.json").read_text())
    for kind, setting in (("known", "gerne_known"), ("none", "erm"), ("pseudo", "gerne_unknown")):
        (out[kind],) = train_runs(params, data, 0.5, setting, work / setting, pseudo_file=work / "pseudo.npz")
    stacked = params.model_copy(update={"train": params.train.model_copy(update={"stack_size": 2})})
    for seed, summary in zip((0, 1), train_runs(stacked, data, 0.5, "resample", work / "stacked", seeds=[0, 1]),
                             strict=True):
        out[f"stacked_seed{seed}"] = summary
    run_sweep(params, "known", data, 0.5, work / "sweep")
    out["sweep_point"] = json.loads((work / "sweep/sweep_known_c0.5_b0.5/seed0.json").read_text())
    return {k: stripped(v) for k, v in out.items()}


def main() -> None:
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        for kind, summary in toy_runs(Path(tmp)).items():
            (target / f"{kind}.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
