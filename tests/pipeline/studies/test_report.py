"""A study of your own is reported with its own rows' descriptions, derived from their declarations."""

from __future__ import annotations

import pandas as pd

from pipeline.studies.config import RowParams
from pipeline.studies.report import describe_row, study_table

COLUMNS = ["table", "dataset", "row", "selection", "test_gba", "test_wga", "test_acc", "test_aligned_acc",
           "test_conflicting_acc"]


def test_rows_are_described_from_their_declarations() -> None:
    rows = {"mine": RowParams(method="gerne", groups="known", select="val_gba", search="none",
                              config={"c": 1.0, "beta": 0.0}),
            "tuned": RowParams(method="jtt", groups="errors", select="val_worst_class", search={"up": [5.0, 20.0]})}
    assert describe_row("mine", rows["mine"]) == ("- `mine`: gerne on the true groups (c = 1, beta = 0); checkpoint "
                                                  "and config by val GBA")
    assert describe_row("tuned", rows["tuned"]) == ("- `tuned`: jtt on the reference model's error set; config "
                                                    "searched over up; checkpoint and config by val worst class")
    text, _ = study_table("own", ["d"], list(rows), pd.DataFrame(columns=COLUMNS), rows, {"d": "test_gba"})
    assert "Oracle checkpoint by: d test GBA." in text  # which metric, said where the numbers are
    assert describe_row("tuned", rows["tuned"]) in text
    assert "yes_yes" not in text and "no_no" not in text  # not Table 2's rows when the study has none of them


def test_collect_flags_runs_that_collapsed_to_chance(tmp_path) -> None:
    """The collector reads each run's history: a run that ended at chance (loss ln K, accuracy 1/K) is flagged."""
    import json
    import math

    from pipeline.studies.report import collect

    def summary(acc: float, loss: float) -> dict:
        epoch = {"epoch": 1, "test_gba": acc, "loss_ext": loss}
        return {"benchmark": "cmnist", "mlflow_run_id": "x", "history": [epoch],
                "selections": {"best_val": {"metrics": {"test_gba": acc}}}}

    for row, (acc, loss) in {"dead": (0.1, math.log(10)), "alive": (0.8, 0.3)}.items():
        (tmp_path / "d" / row).mkdir(parents=True)
        (tmp_path / "d" / row / "seed0.json").write_text(json.dumps(summary(acc, loss)))
    runs = collect(tmp_path, {"d": "d"}).set_index("row")
    assert bool(runs.loc["dead", "collapsed"]) and not bool(runs.loc["alive", "collapsed"])
    for row in ("dead", "alive"):  # a variant's summary names the dataset, not its benchmark: K comes from params
        data = json.loads((tmp_path / "d" / row / "seed0.json").read_text())
        (tmp_path / "d" / row / "seed0.json").write_text(json.dumps({**data, "benchmark": "cmnist_hue"}))
    assert not collect(tmp_path, {"d": "d"})["collapsed"].any()
    runs = collect(tmp_path, {"d": "d"}, {"d": 10}).set_index("row")
    assert bool(runs.loc["dead", "collapsed"]) and not bool(runs.loc["alive", "collapsed"])
