"""The whole column on one device: every run of a study's column, built as the train stage builds it, trained in
stacks and timed; past a budget each row trains one stack and the rest is priced at its measured rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.column import column_jobs, main
from pipeline.config import load_params

ROWS = ["erm", "groupdro", "lff", "dfr", "gerne_known", "gerne_tuned_known"]


@pytest.fixture
def project(toy_study) -> Path:
    return toy_study(ROWS, [0, 1])


def test_the_column_is_every_seed_of_each_row_and_every_other_search_config(project: Path) -> None:
    jobs = {row: js for _d, row, js in column_jobs(load_params("params.yaml"), "table1")}
    assert list(jobs) == ROWS and all(len(jobs[r]) == 2 for r in ("erm", "groupdro", "lff", "gerne_known"))
    assert [j.seed for j in jobs["dfr"]] == [0, 1, 0, 0, 0, 0, 0, 0]  # DFR's other six C values, once each
    tuned = jobs["gerne_tuned_known"]  # its committed grid: config 0 with both seeds, each other point once
    assert len(tuned) > 2 and {j.seed for j in tuned[2:]} == {0} and len({j.name for j in tuned}) == len(tuned)


def test_the_column_trains_in_stacks_and_reports_its_wall_time(project: Path) -> None:
    result = CliRunner().invoke(main, ["--device", "cpu", "--stack", "2"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    r = json.loads((project / "column.json").read_text())
    rows = {x["row"]: x for x in r["rows"]}
    assert r["trained"] == r["runs"] == sum(x["runs"] for x in r["rows"]) and r["projected_s"] == 0.0
    assert rows["lff"]["stacks"] == 1 and rows["groupdro"]["stacks"] == 1  # two seeds, one stack each
    assert rows["dfr"]["stacks"] == rows["dfr"]["runs"] == 8  # DFR cannot stack: a run each
    tuned = rows["gerne_tuned_known"]  # the grid points outside Eq. 9 on the toy's groups are skipped, not trained
    assert tuned["outside_eq9"] > 0 and tuned["runs"] + tuned["outside_eq9"] == len(
        next(js for _d, row, js in column_jobs(load_params("params.yaml"), "table1") if row == "gerne_tuned_known"))
    for x in r["rows"]:
        assert x["seconds"] > 0 and len(x["test_gba"]) == x["runs"] and all(0.0 <= v <= 1.0 for v in x["test_gba"])
    report = (project / "column.md").read_text()
    assert f"**{r['runs']} runs in " in report and "| cmnist | `lff` | lff | 2 | 1 | 2 |" in report
    (project / "column.md").unlink()
    again = CliRunner().invoke(main, ["--from-json"], catch_exceptions=False)  # renders a device's JSON only
    assert again.exit_code == 0 and (project / "column.md").read_text() == report


def test_a_budget_stops_the_column_and_prices_the_rest(project: Path) -> None:
    result = CliRunner().invoke(main, ["--device", "cpu", "--stack", "1", "--budget-s", "0"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    r = json.loads((project / "column.json").read_text())
    assert [x["trained"] for x in r["rows"]] == [1] * len(ROWS)  # spent at once: each row's first stack only
    assert r["projected_s"] == pytest.approx(sum(x["seconds"] * (x["runs"] - 1) for x in r["rows"]))
    assert f"**{len(ROWS)} of {r['runs']} runs in " in (project / "column.md").read_text()


def test_a_skipped_row_is_left_out_and_said_so(project: Path) -> None:
    result = CliRunner().invoke(main, ["--device", "cpu", "--skip", "dfr", "--skip", "gerne_tuned_known", "--skip",
                                       "erm", "--skip", "groupdro", "--skip", "gerne_known"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [x["row"] for x in json.loads((project / "column.json").read_text())["rows"]] == ["lff"]
    assert "Rows left out (`--skip`): dfr, gerne_tuned_known, erm, groupdro, gerne_known." in result.output
    bad = CliRunner().invoke(main, ["--device", "cpu", "--skip", "dfrr"])
    assert bad.exit_code != 0 and "['dfrr'] are not rows of study 'table1'" in bad.output


def test_a_row_trains_under_its_own_protocol() -> None:
    """DFA's Vanilla ERM sets Adam at lr 1.0e-2 over C-MNIST's SGD at 0.1: its configs carry the row's lr."""
    from tests.conftest import REPO

    jobs = {(d, row): js for d, row, js in column_jobs(load_params(REPO / "params.yaml"), "table1")}
    assert {j.cfg["lr"] for j in jobs["cmnist", "erm_vanilla"]} == {1.0e-2}
    assert {j.cfg["lr"] for j in jobs["cmnist", "gerne_known"]} != {1.0e-2}
