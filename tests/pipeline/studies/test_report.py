"""A study of your own is reported with its own rows' descriptions, derived from their declarations."""

from __future__ import annotations

import pandas as pd

from pipeline.studies.config import RowParams
from pipeline.studies.report import describe_row, study_table

COLUMNS = ["table", "dataset", "setting", "selection", "test_gba", "test_wga", "test_acc", "test_aligned_acc",
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
