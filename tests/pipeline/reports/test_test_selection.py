"""The paper's protocol as selection `test`: config and checkpoint chosen on test GBA, every seed found."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.reports.runs import Source, collect, table1_runs, with_test_selection
from pipeline.reports.study import Column
from pipeline.reports.test_selection import test_selected as selected_on_test


def _run(path: Path, oracle: float, best_val: float, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sel = {"oracle": {"epoch": 9, "metric": "test_gba", "metrics": {"test_gba": oracle}},
           "best_val": {"epoch": 3, "metric": "val_gba", "metrics": {"test_gba": best_val}}}
    path.write_text(json.dumps({"selections": sel, "epochs_run": 10, "diverged": False, "seconds_per_epoch": 1.0,
                                "mlflow_run_id": f"{path.parent.name}-{seed}", "seed": seed}))


def _sweep(root: Path, points: dict[str, float], chosen: str) -> Path:
    sweep = root / "sweeps" / "r0.5" / "tuned"
    for name, oracle in points.items():
        _run(sweep / name / "seed0.json", oracle, oracle - 0.1, 0)
    candidates = [{"name": n, "config": i} for i, n in enumerate(points)]
    (sweep / "selected.json").write_text(json.dumps({"seed": 0, "best": {"name": chosen}, "candidates": candidates}))
    return sweep


def test_a_row_without_a_search_is_its_oracle_checkpoint(tmp_path: Path) -> None:
    for s in (0, 1):
        _run(tmp_path / "runs" / "r0.5" / "fixed" / f"seed{s}.json", 0.8 + s / 100, 0.5, s)
    chosen = selected_on_test(tmp_path / "runs", tmp_path / "sweeps", "r0.5", "fixed", [0, 1, 2], "test_gba")
    assert sorted(chosen) == [0, 1] and {p for _, p in chosen.values()} == {""}


def test_the_test_best_point_reads_its_own_seeds_or_the_rows_when_validation_agrees(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, {"p_val": 0.70, "p_test": 0.90}, chosen="p_val")
    own = tmp_path / "runs" / "r0.5" / "tuned"
    for s in (0, 1, 2):
        _run(own / f"seed{s}.json", 0.70, 0.6, s)  # the validation winner's seeds
    _run(sweep / "p_test" / "seed1.json", 0.88, 0.5, 1)  # test_selection: true trained seed 1 of the test-best point
    chosen = selected_on_test(tmp_path / "runs", tmp_path / "sweeps", "r0.5", "tuned", [0, 1, 2], "test_gba")
    assert sorted(chosen) == [0, 1] and {p for _, p in chosen.values()} == {"p_test"}  # seed 2 not trained yet
    assert chosen[1][0]["selections"]["oracle"]["metrics"]["test_gba"] == 0.88
    agree = _sweep(tmp_path / "b", {"p_val": 0.95, "p_test": 0.90}, chosen="p_val")
    for s in (0, 1, 2):
        _run(tmp_path / "b" / "runs" / "r0.5" / "tuned" / f"seed{s}.json", 0.95, 0.6, s)
    assert agree.is_dir()
    both = selected_on_test(tmp_path / "b" / "runs", tmp_path / "b" / "sweeps", "r0.5", "tuned", [0, 1, 2],
                            "test_gba")
    assert sorted(both) == [0, 1, 2] and {p for _, p in both.values()} == {"p_val"}


def test_the_run_table_gains_test_rows_at_the_oracle_checkpoint(tmp_path: Path) -> None:
    _sweep(tmp_path, {"p_val": 0.70, "p_test": 0.90}, chosen="p_val")
    for s in (0, 1):
        _run(tmp_path / "runs" / "r0.5" / "tuned" / f"seed{s}.json", 0.70, 0.6, s)
    _run(tmp_path / "sweeps" / "r0.5" / "tuned" / "p_test" / "seed1.json", 0.86, 0.5, 1)
    where, found = [Column("cm", 0.5, "r0.5", "cmnist")], {"cm": Source("r0.5", "cmnist", 0.5, 10)}
    table = table1_runs(collect(tmp_path / "runs", found), where, ["tuned"], [0, 1])
    out = with_test_selection(table, tmp_path / "runs", tmp_path / "sweeps", where, ["tuned"], [0, 1], found)
    test = out[out["selection"] == "test"].sort_values("seed")
    assert test["test_gba"].tolist() == [0.90, 0.86] and test["epoch"].tolist() == [9, 9]
    assert len(out) == len(table) + 2 and set(table["selection"]) == {"oracle", "best_val"}
