"""The Datasets-2 search: config 0 is the paper's values, draws are seeded and β always admissible."""

from __future__ import annotations

import numpy as np
import pytest

from gerne.core.shares import beta_bounds
from gerne.methods.gerne import BETA_CAP, resolve_beta
from pipeline.studies.config import Protocol, RowParams, SearchParams
from pipeline.studies.search import SPACES, config0, configs, row_configs, space_of

WATERBIRDS = Protocol(model="resnet50", steps=5001, eval_every=300, lr=1.0e-4, weight_decay=1.0e-2, batch_size=16,
                      c=0.5)
BERT = Protocol(model="bert", model_options={"dropout": 0.1}, steps=30001, eval_every=1000, optimizer="adamw",
                lr=1.0e-5, weight_decay=1.0e-4, batch_size=5, batch_unit="group", c=1.0)


def test_config0_is_the_paper_values() -> None:
    assert config0(WATERBIRDS) == {"lr": 1.0e-4, "c": 0.5, "beta": 1.0, "t": 0.1}
    assert config0(BERT) == {"lr": 1.0e-5, "c": 1.0, "beta": 0.0, "t": 0.1, "dropout": 0.1}


def test_draws_are_seeded_stable_and_in_range() -> None:
    search = SearchParams(configs=16, seed=0)
    a, b = configs(WATERBIRDS, search), configs(WATERBIRDS, search)
    assert a == b and len(a) == 16
    assert configs(WATERBIRDS, SearchParams(configs=20, seed=0))[:16] == a  # extending keeps earlier draws
    assert configs(WATERBIRDS, SearchParams(configs=16, seed=1))[1:] != a[1:]
    for cfg in a[1:]:
        assert 1.0e-4 * 10**-0.5 <= cfg["lr"] <= 1.0e-4 * 10**0.5
        assert cfg["c"] in (0.5, 1.0) and 0.0 <= cfg["beta_u"] <= 1.0 and 0.01 <= cfg["t"] <= 0.5
        assert "dropout" not in cfg
    assert all(cfg["dropout"] in (0.0, 0.1, 0.5) for cfg in configs(BERT, search)[1:])


def test_resolved_beta_lies_inside_eq9() -> None:
    alpha = np.array([[0.95, 0.05], [0.03, 0.97]])
    lo, hi = beta_bounds(alpha, 0.5)
    assert resolve_beta({"c": 0.5, "beta_u": 0.0}, alpha) == pytest.approx(max(-1.0, lo))
    assert resolve_beta({"c": 0.5, "beta_u": 1.0}, alpha) == pytest.approx(hi)
    assert resolve_beta({"c": 0.5, "beta": 0.7, "beta_u": 0.2}, alpha) == 0.7  # an explicit β wins
    balanced = np.full((2, 2), 0.5)  # Eq. 9 is unbounded here
    assert resolve_beta({"c": 0.5, "beta_u": 1.0}, balanced) == BETA_CAP


def test_a_row_fixes_values_or_searches_its_own_grid() -> None:
    search = SearchParams(configs=4, seed=0)
    pinned = row_configs(WATERBIRDS, search, RowParams(method="gerne", groups="known", config={"c": 1.0}))
    assert [c["c"] for c in pinned] == [1.0] * 4 and pinned[1]["lr"] == configs(WATERBIRDS, search)[1]["lr"]
    fixed = RowParams(method="gerne", groups="known", config={"c": 1.0, "beta": 0.0}, search="none")
    assert row_configs(WATERBIRDS, search, fixed) == [{"lr": 1.0e-4, "c": 1.0, "beta": 0.0, "t": 0.1}]
    grid = RowParams(method="gerne", groups="known", config={"lr": 1.0e-3},
                     search={"c": [0.5, 1.0], "beta": [0.0, 1.0]})
    assert [(g["c"], g["beta"], g["lr"]) for g in row_configs(WATERBIRDS, search, grid)] == [
        (0.5, 0.0, 1.0e-3), (0.5, 1.0, 1.0e-3), (1.0, 0.0, 1.0e-3), (1.0, 1.0, 1.0e-3)]  # last key fastest


SPACE_ROWS = {  # a row of each registered search space (add yours here: the test fails by name until you do)
    "none": RowParams(method="gerne", groups="known", search="none", config={"beta": 0.0}),
    "random": RowParams(method="gerne", groups="known", config={"c": 1.0}),
    "grid": RowParams(method="gerne", groups="known", config={"c": 0.5}, search={"beta": [0.0, 1.0, 2.0]}),
}


@pytest.mark.parametrize("space", sorted(SPACES))
def test_every_search_space_gives_configs_with_the_rows_fixed_values(space: str) -> None:
    assert space in SPACE_ROWS, f"add a row of search space '{space}' to SPACE_ROWS"
    row = SPACE_ROWS[space]
    assert space_of(row) == space
    search = SearchParams(configs=4, seed=0)
    cfgs = row_configs(WATERBIRDS, search, row)
    assert cfgs and cfgs == row_configs(WATERBIRDS, search, row)  # deterministic
    assert all(cfg[k] == v for cfg in cfgs for k, v in row.config.items())  # fixed values hold everywhere
    assert all({"lr", "c", "t"} <= set(cfg) and ("beta" in cfg or "beta_u" in cfg) for cfg in cfgs)


def test_the_spaces_table1_and_table2_use() -> None:
    assert len(row_configs(WATERBIRDS, SearchParams(), SPACE_ROWS["random"])) == 16  # Table 2: 16 seeded configs
    grid = row_configs(WATERBIRDS, SearchParams(), RowParams(method="gerne", groups="known",
                                                             search={"c": [0.5, 1.0], "beta": [-0.5, 0.0, 1.2]}))
    assert [(g["c"], g["beta"]) for g in grid] == [(0.5, -0.5), (0.5, 0.0), (0.5, 1.2), (1.0, -0.5), (1.0, 0.0),
                                                   (1.0, 1.2)]  # Table 1: the full grid, last key fastest
    assert row_configs(WATERBIRDS, SearchParams(), SPACE_ROWS["none"]) == [{**config0(WATERBIRDS), "beta": 0.0}]


def test_only_runs_of_one_schedule_share_a_stacked_model() -> None:
    from pathlib import Path

    from pipeline.studies.runs import Job, stacks

    row = SPACE_ROWS["random"]
    cfgs = row_configs(WATERBIRDS, SearchParams(configs=3, seed=0), row)
    jobs = [Job(cfg, seed, Path(f"{i}-{seed}.json"), "x") for i, cfg in enumerate(cfgs) for seed in (0, 1)]
    grouped = stacks(WATERBIRDS, row, jobs, 4)  # each config draws its own lr: its two seeds stack, no more
    assert [[j.out_path.name for j in s] for s in grouped] == [["0-0.json", "0-1.json"], ["1-0.json", "1-1.json"],
                                                               ["2-0.json", "2-1.json"]]
    grid = row_configs(WATERBIRDS, SearchParams(), SPACE_ROWS["grid"])  # one lr: the grid points stack together
    assert [len(s) for s in stacks(WATERBIRDS, SPACE_ROWS["grid"], [Job(c, 0, Path("a"), "x") for c in grid], 2)] \
        == [2, 1]


def test_a_method_that_cannot_stack_trains_one_run_per_stack() -> None:
    from pathlib import Path

    from pipeline.studies.runs import Job, stacks

    def sizes(method: str, groups: str) -> list[int]:
        row = RowParams(method=method, groups=groups, search="none", config={})
        cfg = row_configs(WATERBIRDS, SearchParams(), row)[0]
        return [len(s) for s in stacks(WATERBIRDS, row, [Job(cfg, s, Path(f"{s}.json"), "x") for s in (0, 1, 2)], 8)]

    assert sizes("dfr", "known") == [1, 1, 1]  # DFR fits each run itself: stack_size > 1 must not stack it
    assert sizes("lff", "none") == [3]  # LfF stacks its seeds
