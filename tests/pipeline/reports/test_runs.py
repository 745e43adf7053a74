"""The one run table: every summary of the declared datasets, one row per run and selection, in one vocabulary;
Table 1's per-run view of it in the design's order."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from gerne import layout
from gerne.errors import DataError
from pipeline.reports.runs import COLUMNS, TABLE1_COLUMNS, Source, collect, select, sources, table1_runs
from pipeline.reports.study import Column

CMNIST = {"cm": Source("r0.5", "cmnist", 0.5, 10)}


def _summary(path: Path, test_gba: dict[str, float], history: list[dict[str, float]] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    selections = {k: {"epoch": i + 1, "metric": k, "metrics": {"test_gba": v, "val_gba": 0.5, "step": 10.0}}
                  for i, (k, v) in enumerate(test_gba.items())}
    path.write_text(json.dumps({"selections": selections, "epochs_run": 3, "diverged": False,
                                "seconds_per_epoch": 1.0, "mlflow_run_id": f"id-{path.parent.name}-{path.stem}",
                                **({"history": history} if history is not None else {})}))


def test_every_summary_of_every_dataset_in_one_vocabulary(tmp_path: Path) -> None:
    """Rows and Table 3's runs of each declared dataset; a folder of another dataset and a non-run JSON stay out."""
    for seed in (0, 1):
        _summary(layout.summary(tmp_path / "r0.5" / "resample", seed), {"best_val": 0.7 + seed / 10, "last": 0.6})
    _summary(layout.summary(tmp_path / "birds" / "yes_yes", 0), {"oracle": 0.9})
    _summary(layout.summary(tmp_path / "birds" / "valonly" / "full", 2), {"oracle": 0.8})
    _summary(layout.fold_summary(tmp_path / "birds" / "valonly" / "cv", 1, 2), {"best_val": 0.7})
    _summary(tmp_path / "undeclared" / "erm" / "seed0.json", {"last": 0.1})
    (tmp_path / "r0.5" / "resample" / "grid.json").write_text("{}")
    table = collect(tmp_path, {**CMNIST, "birds": Source("birds", "waterbirds", None, 2)})
    assert list(table.columns) == COLUMNS and len(table) == 2 * 2 + 3
    assert set(table["dataset"]) == {"cm", "birds"}
    runs = table.set_index(["dataset", "setting", "seed", "selection"])
    assert runs.loc[("cm", "resample", 1, "best_val"), "test_gba"] == pytest.approx(0.8)
    assert runs.loc[("cm", "resample", 1, "best_val"), "epoch"] == 1 and runs.loc[("cm", "resample", 1, "last"),
                                                                                     "step"] == 10.0
    table3 = select(table, "table3").set_index("setting")
    assert table3.loc["full", "seed"] == 2 and pd.isna(table3.loc["full", "fold"])
    assert table3.loc["cv", "fold"] == 1 and table3.loc["cv", "seed"] == 2
    assert math.isnan(runs.loc[("birds", "yes_yes", 0, "oracle"), "ratio"])  # a kind without a minority share
    assert len(select(table, dataset="cm", setting="resample", selection="last")) == 2


def test_an_unreadable_summary_is_named_with_the_fix(tmp_path: Path) -> None:
    bad = layout.summary(tmp_path / "r0.5" / "erm", 0)
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    with pytest.raises(DataError, match=r"seed0\.json is not valid JSON .*delete it and rerun its stage"):
        collect(tmp_path, CMNIST)


def test_table1_view_keeps_the_design_in_its_order_and_marks_missing_runs(tmp_path: Path, caplog) -> None:
    for seed, v in ((0, 0.70), (1, 0.80)):
        _summary(layout.summary(tmp_path / "r0.5" / "resample", seed), {"best_val": v, "last": v - 0.1})
        _summary(layout.summary(tmp_path / "r0.5" / "erm", seed), {"best_val": v, "last": v - 0.1})
    _summary(layout.summary(tmp_path / "r0.5" / "resample", 7), {"best_val": 0.0})  # stale run of an older design
    column = Column("cm", 0.5, "r0.5", "cmnist")
    view = table1_runs(collect(tmp_path, CMNIST), [column], ["resample", "erm"], [1, 0, 2])
    assert list(view.columns) == TABLE1_COLUMNS
    assert view["setting"].tolist() == ["resample"] * 4 + ["erm"] * 4 and view["seed"].tolist()[:4] == [1, 1, 0, 0]
    assert "runs/r0.5/resample/seed2.json" in caplog.text  # not run yet: logged, left out
    written = tmp_path / "runs.csv"
    view.to_csv(written, index=False)
    assert "\ncmnist,0.5,resample,1,best_val,1," in written.read_text()  # an epoch is written as an integer


def test_collapsed_runs_are_flagged_from_their_history_with_the_datasets_classes(tmp_path: Path) -> None:
    chance = [{"epoch": e, "test_gba": 0.1, "loss_ce": math.log(10)} for e in (2, 3)]
    healthy = [{"epoch": e, "test_gba": 0.7, "loss_ce": 0.4} for e in (1, 2, 3)]
    _summary(layout.summary(tmp_path / "r0.5" / "reweight", 0), {"best_val": 0.3, "last": 0.1},
             history=[{"epoch": 1, "test_gba": 0.3, "loss_ce": 1.9}, *chance])
    _summary(layout.summary(tmp_path / "r0.5" / "reweight", 1), {"best_val": 0.7, "last": 0.7}, history=healthy)
    _summary(layout.summary(tmp_path / "r0.5" / "reweight", 2), {"best_val": 0.1, "last": 0.1})  # no history kept
    runs = collect(tmp_path, CMNIST).set_index(["seed", "selection"])
    assert runs.loc[(0, "best_val"), "collapsed"] and runs.loc[(0, "last"), "collapsed_epoch"] == 2  # every selection
    assert not runs.loc[(1, "last"), "collapsed"] and pd.isna(runs.loc[(1, "last"), "collapsed_epoch"])
    assert not runs.loc[(2, "last"), "collapsed"]  # nothing to judge
    unknown = collect(tmp_path, {"cm": Source("r0.5", "mine", 0.5, None)})  # no class count: nothing judged
    assert not unknown["collapsed"].any()
    two = collect(tmp_path, {"cm": Source("r0.5", "mine", 0.5, 2)})  # ln 10 is not chance for K = 2
    assert not two["collapsed"].any()


def test_sources_come_from_the_declarations() -> None:
    from pipeline.config import load_params
    from tests.conftest import REPO

    found = sources(load_params(REPO / "params.yaml"))
    assert found["cmnist"] == Source("cmnist/r0.5", "cmnist", 0.5, 10)
