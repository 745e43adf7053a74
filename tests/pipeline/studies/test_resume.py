"""The resume fingerprint against the committed C-MNIST column: every committed run counts as done for the declared
row that means the same training, under the folder name the declared sweep gives it; a changed protocol does not."""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import parse_params
from pipeline.studies.protocols import protocol_for
from pipeline.studies.resume import fingerprint, is_done, record_of, training_record
from pipeline.studies.runs import expected_record
from pipeline.studies.search import row_configs
from pipeline.studies.stages import folder_of, point_of
from tests.conftest import REPO

RATIOS = (0.5, 1.0, 2.0, 5.0)
FIG2 = ("fig2_beta_m1", "fig2_beta_0", "fig2_beta_1", "fig2_beta_1p2")


def _design(**protocol: Any) -> Any:
    """The committed design (C-MNIST at four ratios on the one harness), its protocol changed by ``protocol``."""
    if not protocol:
        return _committed_design()
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["datasets"]["cmnist"].update(protocol)
    return parse_params(data)


@functools.cache
def _committed_design() -> Any:
    """The committed design, validated once (frozen: the helpers below read it per point)."""
    return parse_params(yaml.safe_load((REPO / "params.yaml").read_text()))


def _study() -> list[str]:
    """The rows of the committed Table 1 study (GERNE's and the baselines trained beside them)."""
    return list(_design().studies.tables["table1"].rows)


def _swept() -> list[str]:
    return [r for r in _study() if isinstance(_design().studies.rows[r].search, dict)]


def _swept_on(ratio: float) -> list[str]:
    """The searched rows trained on C-MNIST at ``ratio``: Table 1's, and at 0.5 % the attribution study's too."""
    study = _design().studies.tables["attribution"]
    extra = [r for r in study.rows_of("cmnist") if isinstance(_design().studies.rows[r].search, dict)]
    return list(dict.fromkeys([*_swept(), *(extra if ratio == 0.5 else [])]))


def _dataset(ratio: float) -> str:
    return {0.5: "cmnist", 1.0: "cmnist_r1", 2.0: "cmnist_r2", 5.0: "cmnist_r5"}[ratio]


def _committed_points() -> list[tuple[float, str, Path]]:
    points = sorted((REPO / "runs/sweeps/cmnist").glob("r*/*/sweep_*/seed0.json"))
    return [(float(p.parts[-4][1:]), p.parts[-3], p) for p in points]


def test_the_committed_column_is_on_disk() -> None:
    p = _design()
    selected = (REPO / "runs/sweeps/cmnist").glob("r*/*/selected.json")
    skipped = sum(len(json.loads(f.read_text())["skipped"]) for f in selected)
    assert skipped == 4 * 3  # c = 1 with β ∈ {0.5, 1.0, 1.2} breaks Eq. 9 at every ratio
    grid = sum(math.prod(len(v) for v in p.studies.rows[r].search.values()) for r in _swept())
    assert grid == 10 + 25 + 9 + 7  # GERNE's known and unknown grids, JTT's upsampling factors, DFR's C
    table1 = [x for x in _committed_points() if x[1] in _swept()]
    assert len(table1) == 4 * grid - skipped  # at four ratios
    attribution = {x[1] for x in _committed_points()} - set(_swept())
    assert attribution == {"jtt_adam", "jtt_adam_div255"}  # the attribution study's searches at 0.5 %
    rows = {r.parent.name for r in (REPO / "runs/cmnist").glob("r*/*/seed*.json")}
    fig2 = [*p.figures.fig2_rows, *p.figures.fig2_beyond_rows]
    attribution = [r for r in p.studies.tables["attribution"].rows if r not in _study()]  # at 0.5 % only
    assert rows == {*_study(), *fig2, *attribution}  # no run folder of a row no study or figure trains
    assert len(list((REPO / "runs/cmnist").glob("r*/*/seed*.json"))) == (4 * len(_study()) + len(fig2)
                                                                           + len(attribution)) * 3


@pytest.mark.parametrize("ratio", RATIOS)
def test_every_committed_sweep_point_counts_as_done_under_its_declared_name(ratio: float) -> None:
    p = _design()
    committed = {(row, path.parent.name): path for r, row, path in _committed_points() if r == ratio}
    declared = {}
    for row in _swept_on(ratio):
        spec = p.studies.rows[row]
        protocol = protocol_for(p.datasets[_dataset(ratio)], spec)
        selected = REPO / "runs/sweeps/cmnist" / f"r{ratio}" / row / "selected.json"
        refused = [s["point"] for s in json.loads(selected.read_text())["skipped"]]  # outside Eq. 9: never trained
        for i, cfg in enumerate(row_configs(protocol, p.studies.search, spec)):
            if point_of(protocol, spec, cfg) not in refused:
                declared[(row, folder_of(spec, i, point_of(protocol, spec, cfg)))] = (protocol, spec, cfg)
    assert set(declared) == set(committed)  # every grid point has its committed run, by the same folder name
    for key, (protocol, spec, cfg) in declared.items():  # each row under its own protocol (DFR's holdout)
        assert is_done(committed[key], expected_record(protocol, spec, cfg, 0)), key


@pytest.mark.parametrize("ratio", RATIOS)
def test_every_committed_row_seed_counts_as_done(ratio: float) -> None:
    p = _design()
    folder = REPO / "runs/cmnist" / f"r{ratio}"
    for row in _study():
        spec = p.studies.rows[row]
        protocol = protocol_for(p.datasets[_dataset(ratio)], spec)
        configs = row_configs(protocol, p.studies.search, spec)
        if row in _swept():  # the winner the committed search chose
            best = json.loads((REPO / "runs/sweeps/cmnist" / f"r{ratio}" / row / "selected.json").read_text()
                              )["best"]["name"]
            (cfg,) = [c for i, c in enumerate(configs) if folder_of(spec, i, point_of(protocol, spec, c)) == best]
        else:
            (cfg,) = configs
        for seed in (0, 1, 2):
            assert is_done(folder / row / f"seed{seed}.json", expected_record(protocol, spec, cfg, seed)), (row, seed)


def _fig2_runs_done_only_as(rows: list[str] | tuple[str, ...], unlike: dict[str, bool]) -> None:
    """Each committed run of ``rows`` is done for its own row and not for the row with ``unlike`` changed."""
    p = _design()
    protocol = p.datasets["cmnist"]
    for row in rows:
        spec = p.studies.rows[row]
        (cfg,) = row_configs(protocol, p.studies.search, spec)
        for seed in (0, 1, 2):
            path = REPO / "runs/cmnist/r0.5" / row / f"seed{seed}.json"
            assert is_done(path, expected_record(protocol, spec, cfg, seed))
            assert not is_done(path, expected_record(protocol, spec.model_copy(update=unlike), cfg, seed))


def test_fig2_runs_count_as_done_and_only_with_the_train_split_scored() -> None:
    _fig2_runs_done_only_as(FIG2, {"eval_train": False})


def test_fig2_runs_beyond_eq9_count_as_done_only_under_the_override() -> None:
    """The committed runs above Eq. 9's bound are done for their override row and never for a normal row."""
    _fig2_runs_done_only_as(_design().figures.fig2_beyond_rows, {"beyond_eq9_bound": False})


@pytest.mark.parametrize("change", [{"weight_decay": 2.0e-2}, {"batch_size": 64}, {"epochs": 64},
                                    {"model_options": {"hidden": [100, 100]}}])
def test_a_changed_protocol_leaves_nothing_done(change: dict[str, Any]) -> None:
    p = _design(**change)
    protocol = p.datasets["cmnist"]
    spec = p.studies.rows["gerne_tuned_known"]
    for i, cfg in enumerate(row_configs(protocol, p.studies.search, spec)):
        folder = REPO / "runs/sweeps/cmnist/r0.5/gerne_tuned_known" / folder_of(spec, i, point_of(protocol, spec, cfg))
        path = folder / "seed0.json"
        if cfg["c"] == 0.5:  # the points that trained
            assert path.is_file() and not is_done(path, expected_record(protocol, spec, cfg, 0))


def test_another_seed_or_value_is_not_the_same_run() -> None:
    p = _design()
    protocol, spec = p.datasets["cmnist"], p.studies.rows["gerne_known"]
    (cfg,) = row_configs(protocol, p.studies.search, spec)
    path = REPO / "runs/cmnist/r0.5/gerne_known/seed1.json"
    assert is_done(path, expected_record(protocol, spec, cfg, 1))
    assert not is_done(path, expected_record(protocol, spec, cfg, 2))
    assert not is_done(path, expected_record(protocol, spec, {**cfg, "beta": 1.2}, 1))


def test_records_ignore_where_the_data_lies_and_int_float_spelling(tmp_path: Path) -> None:
    summary = json.loads((REPO / "runs/cmnist/r1.0/erm/seed0.json").read_text())
    moved = copy.deepcopy(summary)
    moved["config"]["data"]["dir"] = "somewhere/else"
    moved["config"]["train"]["stack_size"] = 16  # how runs share a stacked model does not change one run
    assert fingerprint(record_of(moved["config"])) == fingerprint(record_of(summary["config"]))
    rec = training_record("gerne", "known", {"c": 1, "beta": 0}, None, {"name": "mlp"}, {}, {"epochs": 3})
    assert fingerprint(rec) == fingerprint(training_record("gerne", "known", {"c": 1.0, "beta": 0.0}, None,
                                                           {"name": "mlp"}, {}, {"epochs": 3.0}))
    broken = tmp_path / "seed0.json"
    broken.write_text('{"config": {"training": ')  # a half-written summary is never done
    assert not is_done(broken, rec) and not is_done(tmp_path / "absent.json", rec)


def test_runs_are_reused_only_on_the_data_they_were_trained_on(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Same data: a rerun trains nothing. The dataset prepared anew with other content (e.g. other prepare
    options): every seed and every sweep point trains again, though the fingerprint is the same."""
    from pipeline.config import parse_params
    from pipeline.studies import stages
    from pipeline.studies.resume import DATA_STAMP, data_identity
    from tests.golden.toy_runs import design
    from tests.helpers import toy_dataset

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    data = design()
    data["datasets"]["toy"]["epochs"] = 1
    p = parse_params(data)
    toy = toy_dataset(tmp_path / "toy")
    out, sweep, tuned = tmp_path / "runs/known", tmp_path / "sweeps/tuned", tmp_path / "runs/tuned"

    def ids() -> list[str]:
        files = [out / "seed0.json", tuned / "seed0.json", sweep / "sweep_known_c0.5_b0.5/seed0.json"]
        return [json.loads(f.read_text())["mlflow_run_id"] for f in files]

    def train_all() -> None:
        stages.train(p, "toy", "gerne_known", toy, out)
        stages.search(p, "toy", "gerne_tuned_known", toy, sweep, tuned)

    train_all()
    first = ids()
    assert json.loads((out / DATA_STAMP).read_text()) == {"data": data_identity(toy)}
    train_all()
    assert ids() == first  # same fingerprint, same data: reused
    toy_dataset(tmp_path / "toy", seed=1)  # the same path prepared anew, other bytes
    train_all()
    again = ids()
    assert all(a != b for a, b in zip(again, first, strict=True))
    assert json.loads((sweep / DATA_STAMP).read_text()) == {"data": data_identity(toy)}


def test_a_folder_without_a_stamp_reuses_nothing(tmp_path: Path) -> None:
    from pipeline.studies.resume import DATA_STAMP, same_data, stamped

    work, target = tmp_path / ".t.partial", tmp_path / "t"
    work.mkdir()
    target.mkdir()
    (work / "seed0.json").write_text("{}")  # left by a run on other data
    assert stamped(work, target, "sha256:abc") is None and not (work / "seed0.json").exists()
    assert same_data(work, "sha256:abc") and not same_data(target, "sha256:abc")
    (target / DATA_STAMP).write_text('{"data": "sha256:abc"}')
    assert stamped(work, target, "sha256:abc") == target


def test_every_searchable_key_is_in_the_fingerprint() -> None:
    """A config key missing from the fingerprint would let a run with another value of it be reused."""
    from pipeline.studies.config import SEARCHABLE
    from pipeline.studies.resume import SEARCHED

    assert set(SEARCHABLE) - {"lr"} <= set(SEARCHED)  # lr is in the fingerprint's loop
    from gerne.methods import METHODS

    assert all(set(entry.options) <= set(SEARCHED) for entry in METHODS.values())  # a new method's too
    assert set(SEARCHED) == {"c", "beta", "beta_u", "t", "dropout", "eta", "up", "C", "subsets"}  # today's
