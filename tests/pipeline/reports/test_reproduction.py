"""REPRODUCTION.md is built from the files the pipeline writes, and its verdicts follow the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.reports.inventory import compute_spent
from pipeline.reports.reproduction import build, conflicting
from tests.conftest import REPO


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    table = tmp_path / "table1.csv"
    pd.DataFrame([
        {"selection": "best_val", "setting": "gerne_known", "ratio": 0.5, "mean": 78.3, "std": 1.1, "n_seeds": 3,
         "paper_mean": 77.79, "diff": 0.51},
        {"selection": "best_val", "setting": "erm", "ratio": 0.5, "mean": 24.5, "std": 2.6, "n_seeds": 3,
         "paper_mean": 35.19, "diff": -10.69},
        {"selection": "oracle", "setting": "erm", "ratio": 0.5, "mean": 40.0, "std": 1.0, "n_seeds": 3,
         "paper_mean": 35.19, "diff": 4.81},
    ]).to_csv(table, index=False)
    metrics = tmp_path / "metrics"
    cells = {split: {f"{y},{a}": (50 if y == a else (1 if (split, y, a) == ("train", 0, 1) else 0))
                     for y in range(2) for a in range(2)} for split in ("train", "val", "test")}
    (metrics / "r0.5").mkdir(parents=True)
    (metrics / "r0.5" / "counts.json").write_text(json.dumps(cells))
    runs = tmp_path / "runs"
    for i, (spe, epochs) in enumerate([(2.0, 65), (1.0, 36)]):
        path = runs / "cmnist" / "r0.5" / "erm" / f"seed{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seconds_per_epoch": spe, "epochs_run": epochs, "selections": {}}))
    pd.DataFrame([{"benchmark": "cmnist", "ratio": 0.5, "setting": "erm", "seed": i, "selection": k, "epoch": e + i,
                   "test_gba": g + i / 10}
                  for i, epochs in enumerate((65, 36))
                  for k, e, g in (("best_val", 1, 0.25), ("oracle", 3, 0.3), ("last", epochs, 0.1))]
                 ).to_csv(tmp_path / "runs.csv", index=False)  # the aggregate stage's per-run table
    return table, metrics, runs


def _build(tmp_path: Path, ratios: list[float], sweeps: list[tuple[float, Path]] = (), **kinds: object) -> str:
    table, metrics, runs = tmp_path / "table1.csv", tmp_path / "metrics", tmp_path / "runs"
    folders = {r: metrics / f"r{r}" for r in ratios}  # counts.json and pseudo.json side by side here
    return build(table, tmp_path / "runs.csv", [runs], (folders, folders),
                 {r: runs / "cmnist" / f"r{r}" for r in ratios}, list(sweeps), epochs=65, **kinds)


def test_verdicts_counts_and_compute(tmp_path: Path) -> None:
    _table, metrics, runs = _files(tmp_path)
    assert conflicting(metrics / "r0.5" / "counts.json") == [1, 0]
    assert compute_spent(runs) == (2, (2.0 * 65 + 36) / 3600)
    md = _build(tmp_path, [0.5, 1.0])
    assert "1 of 2 rows × ratios below" in md  # oracle rows are not verdicts
    assert "| gerne_known | 0.5 | 78.30 ± 1.10 (3 seeds) | 77.79 | +0.51 | yes |" in md
    assert "| erm | 0.5 | 24.50 ± 2.60 (3 seeds) | 35.19 | -10.69 | **no** |" in md
    assert "| 0.5 | 1 | 249 | 0 in 2 groups, 2 empty, 2 with ≤ 2 |" in md and "| 1.0 | not built |" in md
    assert "no sweep has finished yet" in md and "## Epochs: 65" in md
    assert "| 0.5 | 2 | 1, 2 | 30.00 | 35.00 | 15.00 |" in md  # ERM: chosen epochs, test GBA there, best, last


def test_sweep_candidates_show_val_and_test(tmp_path: Path) -> None:
    _table, _metrics, runs = _files(tmp_path)
    sweep = runs / "sweeps" / "cmnist" / "r0.5" / "gerne_tuned_known"
    points = {"sweep_known_c0.5_b0.0": (0.87, 0.749), "sweep_known_c0.5_b1.0": (0.83, 0.779)}
    for name, (val, test) in points.items():
        (sweep / name).mkdir(parents=True)
        (sweep / name / "seed0.json").write_text(json.dumps(
            {"selections": {"best_val": {"metrics": {"val_gba": val, "test_gba": test}}}}))
    (sweep / "grid.json").write_text(json.dumps({"seed": 0}))
    candidates = [{"name": n, "point": {"c": 0.5, "beta": float(n[-3:])}, "value": v[0]} for n, v in points.items()]
    (sweep / "selected.json").write_text(json.dumps({"kind": "known", "ratio": 0.5, "best": candidates[0],
                                                     "candidates": candidates, "skipped": [{"c": 1.0}]}))
    md = _build(tmp_path, [0.5], [(0.5, sweep)])
    assert "### `gerne_tuned_known` (known attributes), 0.5 %" in md  # the heading names the row it searched for
    assert "| 0.5 | known | {'c': 0.5, 'beta': 0.0} | 87.00 | 2 trained, 1 outside Eq. 9 |" in md
    assert "| {'c': 0.5, 'beta': 1.0} | 83.00 | 77.90 |  |" in md
    assert "| {'c': 0.5, 'beta': 0.0} | 87.00 | 74.90 | yes |" in md


def test_recall_rows_follow_each_ratios_own_t(tmp_path: Path) -> None:
    _table, metrics, _runs = _files(tmp_path)
    for ratio, ts in ((0.5, (5.0e-4, 5.0e-3)), (5.0, (5.0e-3, 5.0e-2))):
        (metrics / f"r{ratio}").mkdir(exist_ok=True)
        quality = {repr(t): {"avg_recall": t * 10, "avg_precision": 1.0, "size": int(t * 55_000)} for t in ts}
        (metrics / f"r{ratio}" / "pseudo.json").write_text(json.dumps({"true_minority": int(ratio * 550),
                                                                      "thresholds": quality}))
    md = _build(tmp_path, [0.5, 5.0])
    assert "| 0.5 | 275 | t = 0.0005: 0.01 (27) | t = 0.005: 0.05 (275) |" in md
    assert "| 5.0 | 2750 | t = 0.005: 0.05 (275) | t = 0.05: 0.50 (2750) |" in md


def _summary(path: Path, **extra: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seconds_per_epoch": 1.0, "epochs_run": 36, "selections": {}, **extra}))


def _sweep(folder: Path, seeds: dict[str, tuple[int, ...]], skipped: int = 0) -> Path:
    """A finished sweep (search seed 0) whose points ``seeds`` name the seeds trained; the first point won."""
    for name, trained in seeds.items():
        for seed in trained:
            _summary(folder / name / f"seed{seed}.json",
                     selections={"best_val": {"metrics": {"val_gba": 0.8, "test_gba": 0.7}}})
    candidates = [{"name": n, "point": {"beta": float(n[-3:])}, "value": 0.8} for n in seeds]
    (folder / "selected.json").write_text(json.dumps({"kind": "known", "seed": 0, "best": candidates[0],
                                                      "candidates": candidates,
                                                      "skipped": [{"beta": 9.0}] * skipped}))
    return folder


def test_run_count_says_what_it_counts_and_meets_validates_sum(tmp_path: Path) -> None:
    _table, _metrics, runs = _files(tmp_path)  # two `erm` runs: a Table 1 row without a search
    row = runs / "cmnist" / "r0.5"
    _summary(row / "biased.json")  # the reference model
    _summary(row / "fig2_beta_0" / "seed0.json")  # a row of another study
    sweeps = runs / "sweeps" / "cmnist" / "r0.5"
    # test_selection: the test-best point (b1.0) got seed 1 in the sweep; the row's seed 0 restates the winner
    tested = _sweep(sweeps / "gerne_tuned_known", {"sweep_known_b0.0": (0,), "sweep_known_b1.0": (0, 1)}, skipped=1)
    # every_seed_on: every point with both seeds; the row's two seeds both restate the winner's
    every = _sweep(sweeps / "gerne_tuned_unknown", {"sweep_unknown_b1.0": (0, 1), "sweep_unknown_b2.0": (0, 1)})
    for name in ("gerne_tuned_known", "gerne_tuned_unknown"):
        for seed in (0, 1):
            _summary(row / name / f"seed{seed}.json")
    md = _build(tmp_path, [0.5], [(0.5, tested), (0.5, every)], seeds=2, every={every}, tested={tested, every})
    assert "Training compute so far: 15 run summaries (7 row runs + 7 sweep points + 1 reference models;" in md
    assert "over the datasets of these folders that sum is 12" in md  # 3 + (3 + 1 + 1) + 2 x 2
    assert "| Table 1 rows without a search × ratios × seeds | 2 | rows × seeds |" in md
    assert "| rows of other studies (`fig2_beta_0`) × seeds | 1 | rows × seeds |" in md
    assert ("| searched rows (`gerne_tuned_known`, `gerne_tuned_unknown`) × ratios × seeds | 4 | 1 as the winners' "
            "other seeds; the other 3 restate their sweep's selected point") in md
    assert "| sweep points at the search seed | 4 | 5 grid points; those outside Eq. 9 are skipped |" in md
    assert ("| the test-best point's other seeds (`test_selection`) | 1 | 1 per sweep with `test_selection`: 1 at "
            "most; 0 not needed") in md
    assert "| every point's other seeds (`every_seed_on`) | 2 | every grid point × 1 in the 1 sweep(s)" in md
    assert "| reference models (f̃, `biased.json`) | 1 |" in md
    assert ("| **total** | **15** | 12 at most − 1 skipped (with their seeds) − 0 not needed + 3 restated + 1 "
            "reference models = 15 |") in md


def test_collapsed_runs_are_listed_with_their_seeds_and_epochs(tmp_path: Path) -> None:
    _files(tmp_path)
    assert "(the run table predates the `collapsed` flag)" in _build(tmp_path, [0.5])
    runs = pd.read_csv(tmp_path / "runs.csv")
    runs["collapsed"] = runs["seed"] == 1
    runs["collapsed_epoch"] = runs["seed"].map({1: 12})
    runs.to_csv(tmp_path / "runs.csv", index=False)
    md = _build(tmp_path, [0.5])
    assert "## Runs that collapsed to chance" in md and "(1/K = 10.00 %)" in md
    assert "| `erm` | 0.5 | 1 of 2: 1 | 12 | 30.00 | 15.00 |" in md
    runs.assign(collapsed=False).to_csv(tmp_path / "runs.csv", index=False)
    assert "No run of Table 1 collapsed." in _build(tmp_path, [0.5])


def test_report_generators_cite_only_what_the_repository_holds() -> None:
    generators = ["pipeline/report.py", "pipeline/figures.py", "pipeline/studies/report.py",
                  *(str(p.relative_to(REPO)) for p in (REPO / "pipeline" / "reports").glob("*.py"))]
    for name in generators:
        text = (REPO / name).read_text(encoding="utf-8")
        for outside in ("TARGETS.md", "BASELINES.md", "BENCHMARKS.md", "METHOD.md", "../shared"):
            assert outside not in text, f"{name} cites {outside}, which is not in the repository"
