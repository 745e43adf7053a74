"""The claims table: "A beats B" against seed noise, verdicts across protocols, paper cells counted once."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.reports import claims
from pipeline.reports.table import paper_targets


def _table(cells: dict[tuple[str, str, float], tuple[float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"selection": sel, "setting": row, "ratio": r, "mean": m, "std": s, "n_seeds": n}
                         for (sel, row, r), (m, s, n) in cells.items()])


def _evidence(cells: dict, **kw) -> claims.Evidence:
    return claims.Evidence(_table(cells), paper_targets("cmnist"), [0.5, 1.0], **kw)


def test_beats_needs_more_than_the_seed_noise() -> None:
    ev = _evidence({("best_val", "a", 0.5): (80.0, 0.3, 3), ("best_val", "b", 0.5): (79.0, 0.4, 3),
                    ("best_val", "a", 1.0): (80.0, 1.0, 3), ("best_val", "b", 1.0): (79.5, 1.0, 3),
                    ("test", "a", 0.5): (70.0, 0.0, 1), ("test", "b", 0.5): (75.0, 0.0, 3),
                    ("test", "a", 1.0): (70.0, 0.0, 1), ("test", "b", 1.0): (75.0, 0.0, 3)})
    c = claims.beats(ev, "Sec. 5.1", "a beats b", "a", ["b"], [0.5, 1.0])
    assert "Δ +1.00 ± 0.50" in c.numbers["best_val"] and "tie: within seed noise" in c.numbers["best_val"]
    assert "[1 seed]" in c.numbers["test"] and "**behind**" in c.numbers["test"]
    assert c.verdict == "partly (1 of 2)"


def test_verdicts_read_both_protocols() -> None:
    assert claims._verdict({"best_val": [True, True], "test": [False]}) == claims.REPRODUCED
    assert claims._verdict({"best_val": [False, True], "test": [True, True]}) == claims.TEST_ONLY
    assert claims._verdict({"best_val": [False], "test": [False]}) == claims.NOT
    assert claims._verdict({"best_val": [None], "test": [None]}) == claims.UNTESTED


def test_against_copied_rows_uses_the_paper_values_and_the_best_of_them() -> None:
    ev = _evidence({(p, "gerne_tuned_unknown", 0.5): (80.0, 0.5, 3) for p in claims.PROTOCOLS})
    c = claims.beats(ev, "Sec. 5.1", "x", "gerne_tuned_unknown", ["lff", "LC"], [0.5], copied=True)
    assert "vs 71.25" in c.numbers["best_val"]  # LC's 71.25 beats LfF's copied 52.50
    assert c.verdict == claims.REPRODUCED


def test_paper_cells_are_counted_once() -> None:
    cells = {(p, row, r): (v, 0.1, 3) for p in claims.PROTOCOLS for r, v in ((0.5, 77.0), (1.0, 90.0))
             for row in ("resample", "gerne_tuned_known")}
    ev = _evidence(cells)
    once = claims.within(ev, {"resample": "resample", "gerne_tuned_known": "gerne_tuned_known"}, 2.0)
    assert once["best_val"] == (2, 4)  # 77 is within 2 of 77.68 and 77.79 at 0.5 %; 90 is not at 1 %


def test_missing_rows_make_claims_untestable(tmp_path: Path) -> None:
    ev = _evidence({})
    tested = claims.paper_claims(ev, set(), {}, {}, None)
    assert tested and all(c.verdict == claims.UNTESTED for c in tested)
    assert claims.render(tested)[-1].startswith("Verdicts: not testable here:")


def test_figure3_reads_the_quality_and_the_sweep(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    candidates = []
    for i, (t, beta, val, oracle) in enumerate([(0.0005, 1.0, 60.0, 69.0), (0.0005, 2.0, 70.0, 66.0),
                                                (0.001, 1.0, 75.0, 80.0), (0.003, 1.0, 75.0, 80.0),
                                                (0.01, 3.0, 75.0, 80.0), (0.01, 1.0, 70.0, 70.0)]):
        name = f"p{i}"
        (sweep / name).mkdir(parents=True)
        sel = {"best_val": {"metrics": {"val_gba": val / 100, "test_gba": val / 100}},
               "oracle": {"metrics": {"test_gba": oracle / 100}}}
        (sweep / name / "seed0.json").write_text(json.dumps({"selections": sel}))
        candidates.append({"name": name, "point": {"t": t, "beta": beta}})
    (sweep / "selected.json").write_text(json.dumps({"candidates": candidates}))
    q = {str(t): {"avg_precision": p, "avg_recall": r} for t, p, r in
         [(0.0005, 1.0, 0.08), (0.001, 1.0, 0.2), (0.003, 0.99, 0.6), (0.01, 0.35, 0.96)]}
    out = {c.text: c for c in claims.figure3(_evidence({}, quality={"thresholds": q}, fig3_sweep=sweep))}
    assert [c.verdict for c in out.values()][:3] == [claims.REPRODUCED] * 3
    about70 = next(c for text, c in out.items() if "about 70" in text)
    assert "69.00 (β = 1" in about70.numbers["test"] and "β = 2" in about70.numbers["best_val"]
    assert about70.verdict == claims.REPRODUCED  # 69 on test is within 5 points of 70
    pattern = next(c for text, c in out.items() if "best β" in text)
    assert pattern.verdict == claims.REPRODUCED  # val: β 2 → 1 → 1 → 3; test (β 1 → 1 → 1 → 3) has no drop
    assert "t = 0.0005: β 1" in pattern.numbers["test"]
