"""Declared-dataset runs for real on tiny releases in the real layouts: prepare → reference → sweep → seeds →
Table 3."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from gerne.data import civilcomments, waterbirds
from gerne.errors import ConfigError, DataError
from gerne.tracking import Tracker
from pipeline.config import parse_params
from pipeline.reports.runs import collect, sources
from pipeline.studies import reference, stages
from pipeline.studies.report import table2, table3
from tests.conftest import REPO
from tests.data.fixtures import bert_vocab_dir, civilcomments_release, extract_tar, waterbirds_release
from tests.helpers import scratch, toy_dataset

TINY = {"steps": 4, "eval_every": 2, "eval_batch_size": 8, "precision": "fp32", "batch_size": 2}


def _params(declared: dict, datasets: list[str] | None = None, **studies) -> object:
    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["studies"].update({"seeds": [0, 1], "device": "cpu", **studies})
    data["studies"]["tables"]["table2"]["datasets"] = datasets or []
    for name, update in declared.items():
        data["datasets"][name].update(update)
    data["studies"]["search"].setdefault("configs", 2)
    if "search" not in studies:
        data["studies"]["search"]["configs"] = 2
    return parse_params(data)


@pytest.fixture(autouse=True)
def _tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


@pytest.fixture(scope="module")
def birds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    for root in scratch(tmp_path_factory, "wb"):
        tar, counts = waterbirds_release(root)
        out = root / "prepared"
        waterbirds.prepare(extract_tar(tar, root / "raw"), out, image_size=16, expected_counts=counts)
        yield out, counts


def test_waterbirds_biased_search_seeds_and_table2(birds: tuple[Path, dict], tmp_path: Path) -> None:
    data, _ = birds
    p = _params({"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                datasets=["waterbirds"])
    scores, ckpt = tmp_path / "pseudo.npz", tmp_path / "biased.pt"
    biased = reference.train_reference(p, "waterbirds", data, ckpt, tmp_path / "runs/waterbirds/biased.json")
    assert biased["selections"]["best_val"]["metric"] == "val_cba"
    assert biased["setting"] == "biased" and biased["config"]["setting"] == "biased"  # not a table setting
    quality = reference.score(p, "waterbirds", data, ckpt, scores, tmp_path / "pseudo.json")
    conf = reference.load_confidence(scores, "test")
    assert conf.shape == (10,) and ((conf > 0) & (conf < 1)).all()
    assert quality["thresholds"] == {} and quality["true_minority"] > 0  # no pseudo_thresholds declared
    for setting in ("no_no",):  # yes_yes runs through DVC in tests/pipeline/test_studies.py
        sweep, out = tmp_path / "sweep" / setting, tmp_path / "runs/waterbirds" / setting
        choice = stages.search(p, "waterbirds", setting, data, sweep, out, scores)
        assert choice["metric"] == {"yes_yes": "val_wga", "no_no": "val_worst_class"}[setting]
        assert len(choice["candidates"]) == 2
        s0, s1 = (json.loads((out / f"seed{s}.json").read_text()) for s in (0, 1))
        assert s0["config"]["search_config"] == s1["config"]["search_config"] == choice["best"]["search_config"]
        assert [h["step"] for h in s1["history"]] == [2.0, 4.0]  # evaluated every 2 steps of 4
        assert {"last", "best_val", "oracle"} <= set(s1["selections"])
        mtime = (sweep / "config1" / "seed0.json").stat().st_mtime
        stages.search(p, "waterbirds", setting, data, sweep, out, scores)  # resumes: no config retrained
        assert (sweep / "config1" / "seed0.json").stat().st_mtime == mtime
    runs = collect(tmp_path / "runs", sources(p))
    md, frame = table2(runs)
    assert "not run" in md and "90.20 ± 0.22" in md  # celeba/civilcomments cells, paper value beside ours
    row = frame[(frame.dataset == "waterbirds") & (frame.setting == "no_no") & (frame.selection == "best_val")]
    assert row["n"].item() == 2 and 0.0 <= row["ours_mean"].item() <= 100.0
    client = Tracker("waterbirds").client
    exp = client.get_experiment_by_name("waterbirds")
    runs = client.search_runs([exp.experiment_id])
    searches = [r for r in runs if r.data.tags["stage"] == "sweep"]  # a parent run per search that trains (not the
    assert len(searches) == 1 and {r.data.tags["selected"] for r in searches} == {choice["best"]["name"]}  # rerun)
    trained = [r for r in runs if r.data.tags["stage"] != "sweep"]
    assert len(trained) == 1 + 3  # biased + 2 configs + the winner's seed 1
    assert sorted(r.data.tags["setting"] for r in trained) == ["biased", "no_no", "no_no", "no_no"]


def test_the_reference_model_is_reused_by_fingerprint(birds: tuple[Path, dict], tmp_path: Path) -> None:
    """A rerun with the same declaration keeps f̃ (a code edit reruns the stage, not the training); another
    reference lr trains it again."""
    data, _ = birds
    declared = {"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}}
    p = _params(declared, datasets=["waterbirds"])
    ckpt, summary = tmp_path / "biased.pt", tmp_path / "biased.json"
    biased = reference.train_reference(p, "waterbirds", data, ckpt, summary)
    before = (ckpt.read_bytes(), summary.read_bytes())
    reused = reference.train_reference(p, "waterbirds", data, ckpt, summary)
    assert reused == json.loads(summary.read_text()) and reused["mlflow_run_id"] == biased["mlflow_run_id"]
    assert (ckpt.read_bytes(), summary.read_bytes()) == before
    other = _params(declared, datasets=["waterbirds"], reference={**p.studies.reference.model_dump(), "lr_factor": 0.5})
    retrained = reference.train_reference(other, "waterbirds", data, ckpt, summary)
    assert retrained["mlflow_run_id"] != biased["mlflow_run_id"] and summary.read_bytes() != before[1]


def _as_legacy(summary: dict) -> dict:
    """``summary`` rewritten in the Table 1 runner's reference schema (``config.biased``, no data identity)."""
    loop = summary["config"]["training"]["loop"]
    legacy = {"biased": {"epochs": loop["epochs"], "seed": loop["seed"]}, "data": {"dir": "data"},
              "loop": {k: v for k, v in loop.items() if k not in ("evaluate_train", "eval_batch_size")},
              "model": summary["config"]["training"]["model"]}
    return {k: v for k, v in {**summary, "config": legacy}.items() if k != "data_identity"}


def test_a_legacy_reference_model_is_reused_only_if_it_scores_the_data_as_recorded(birds: tuple[Path, dict],
                                                                                    tmp_path: Path) -> None:
    """The Table 1 runner's f̃ summaries predate the data identity: the same recipe plus a checkpoint that scores
    every split exactly as recorded keeps f̃; a recorded accuracy the checkpoint does not reproduce retrains it."""
    data, _ = birds
    declared = {"waterbirds": {**TINY, "batch_size": 100, "model": "resnet18", "model_options": {"pretrained": False}}}
    p = _params(declared, datasets=["waterbirds"])
    ckpt, summary = tmp_path / "biased.pt", tmp_path / "biased.json"
    biased = reference.train_reference(p, "waterbirds", data, ckpt, summary)
    legacy = _as_legacy(biased)
    summary.write_text(json.dumps(legacy))
    before = (ckpt.read_bytes(), summary.read_bytes())
    reused = reference.train_reference(p, "waterbirds", data, ckpt, summary)
    assert json.dumps(reused) == json.dumps(legacy)  # the legacy summary itself (NaN losses compare as text)
    assert (ckpt.read_bytes(), summary.read_bytes()) == before
    metrics = legacy["selections"]["best_val"]["metrics"]
    metrics["test_acc"] += 0.5  # a count the checkpoint does not reproduce
    summary.write_text(json.dumps(legacy))
    retrained = reference.train_reference(p, "waterbirds", data, ckpt, summary)
    assert retrained["mlflow_run_id"] != biased["mlflow_run_id"] and "training" in retrained["config"]


def test_table3_val_only_folds(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy", n_per_split=(60, 90, 60))  # a val split big enough for 3 folds
    p = _params({"celeba": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                datasets=["celeba"], table3={"datasets": ["celeba"], "folds": 2}, seeds=[0])
    fold = stages.stratified_folds(*(torch.tensor(v) for v in ([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1])), 2, 3, 0)
    assert sorted(fold[:3]) == sorted(fold[3:]) == [0, 1, 2]  # each group spread over every fold
    summaries = stages.table3(p, data, tmp_path / "runs/celeba/valonly")
    assert len(summaries) == 1 + 2  # full × seeds + folds × seeds
    md, frame = table3(collect(tmp_path / "runs", sources(p)))
    assert frame.set_index("experiment")["n"].to_dict() == {"full": 1, "cv": 2} and "90.97" in md
    small = _params({"celeba": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                    datasets=["celeba"], table3={"datasets": ["celeba"], "folds": 40})
    with pytest.raises(DataError, match="too small for 40 folds"):
        stages.table3(small, data, tmp_path / "other")


def test_civilcomments_tiny_bert_pseudo_run(tmp_path: Path) -> None:
    tar, counts = civilcomments_release(tmp_path / "cc")
    tok = bert_vocab_dir(tmp_path / "tok")
    data = tmp_path / "prepared"
    civilcomments.prepare(extract_tar(tar, tmp_path / "raw"), data, tokenizer=str(tok), max_length=16,
                          expected_counts=counts)
    vocab = len((tok / "vocab.txt").read_text().split())
    bert = {"pretrained": False, "dropout": 0.1, "vocab_size": vocab, "hidden_size": 32, "num_layers": 2,
            "num_heads": 2, "intermediate_size": 37}
    p = _params({"civilcomments": {**TINY, "batch_size": 1, "pseudo_batch_size": 2, "model_options": bert}},
                datasets=["civilcomments"])
    scores = tmp_path / "pseudo.npz"
    reference.train_reference(p, "civilcomments", data, tmp_path / "biased.pt", tmp_path / "biased.json")
    reference.score(p, "civilcomments", data, tmp_path / "biased.pt", scores, tmp_path / "pseudo.json")
    choice = stages.search(p, "civilcomments", "no_yes", data, tmp_path / "sweep", tmp_path / "out", scores)
    assert "dropout" in choice["best"]["search_config"]
    summary = json.loads((tmp_path / "out" / "seed1.json").read_text())
    assert summary["config"]["loop"]["optimizer"] == "adamw" and summary["config"]["loop"]["clip_norm"] == 1.0
    assert np.isfinite(summary["history"][-1]["loss_ext"])


def test_failed_search_keeps_the_previous_results(birds: tuple[Path, dict], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A search that fails half-way leaves both folders as they were; the rerun trains only what is missing."""
    data, _ = birds
    p = _params({"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                datasets=["waterbirds"], seeds=[0])
    sweep, out = tmp_path / "sweep", tmp_path / "out"
    stages.search(p, "waterbirds", "yes_yes", data, sweep, out)
    before = {f: f.read_bytes() for f in sorted(sweep.rglob("*.json")) + sorted(out.rglob("*.json"))}
    wider = _params({"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                    datasets=["waterbirds"], seeds=[0], search={"configs": 3, "seed": 0})
    trained = []
    real_run = stages.run_stack

    def failing_run(protocol, splits, jobs, **kwargs):
        trained.extend(job.name for job in jobs)
        raise RuntimeError("killed")

    monkeypatch.setattr(stages, "run_stack", failing_run)
    with pytest.raises(RuntimeError):
        stages.search(wider, "waterbirds", "yes_yes", data, sweep, out)
    assert trained == ["waterbirds-yes_yes-config2"]  # configs 0 and 1 reused from the committed folder
    assert {f: f.read_bytes() for f in before} == before and not (sweep / "config2").exists()
    monkeypatch.setattr(stages, "run_stack", real_run)
    stages.search(wider, "waterbirds", "yes_yes", data, sweep, out)
    assert (sweep / "config2" / "seed0.json").is_file() and (sweep / "config0" / "seed0.json").read_bytes() == \
        before[sweep / "config0" / "seed0.json"]


def test_cmnist_declared_as_a_kind(tmp_path: Path, mnist_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """C-MNIST at one ratio through the declared-dataset stages: fetch (the real MNIST files, through the mirror
    path a user's download takes), prepare, and rows of two methods (GERNE on the true groups, plain ERM)."""
    from tests.pipeline.studies.test_config import OWN

    data = copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))
    data["datasets"]["cm"] = {**{k: v for k, v in OWN.items() if k != "root"}, "kind": "cmnist",
                              "prepare": {"ratio": 5.0, "val_size": 100},
                              "model_options": {"hidden": [16]}, "eval_batch_size": 8192}
    data["studies"].update(seeds=[0], device="cpu")
    data["studies"]["search"]["configs"] = 1
    data["studies"]["rows"]["erm"] = {"method": "erm", "groups": "none", "select": "val_gba"}
    data["studies"]["tables"]["t1"] = {"datasets": ["cm"], "rows": ["yes_yes", "erm"]}
    p = parse_params(data)
    monkeypatch.setenv("GERNE_MIRROR_CM", str(mnist_mirror))  # this machine's copy (pipeline.local)
    sums = stages.fetch(p, "cm", tmp_path / "raw")
    assert set(sums) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                         "t10k-labels-idx1-ubyte.gz"} and all(v.startswith("md5-decompressed:") for v in sums.values())
    info = stages.prepare(p, "cm", tmp_path / "raw", tmp_path / "cm")
    assert sum(info["counts"]["train"].values()) == 59900  # MNIST train minus val_size
    for row in ("yes_yes", "erm"):
        stages.search(p, "cm", row, tmp_path / "cm", tmp_path / "sweep" / row, tmp_path / "runs" / "cm" / row)
        summary = json.loads((tmp_path / "runs" / "cm" / row / "seed0.json").read_text())
        assert summary["method"] == ("gerne" if row == "yes_yes" else "erm") and len(summary["history"]) == 2
    table = collect(tmp_path / "runs", sources(p))
    assert set(table["setting"]) == {"yes_yes", "erm"} and set(table["dataset"]) == {"cm"}
    # another ratio is a variant: the same MNIST files, prepared with its own ratio
    data["datasets"]["cm_r1"] = {"variant_of": "cm", "prepare": {"ratio": 1.0}}
    variant = stages.prepare(parse_params(data), "cm_r1", tmp_path / "raw", tmp_path / "cm_r1")

    def conflicting(counts: dict[str, int]) -> float:
        return sum(n for g, n in counts.items() if len(set(g.split(","))) == 2) / sum(counts.values())

    assert round(100 * conflicting(variant["counts"]["train"]), 1) == 1.0
    assert round(100 * conflicting(info["counts"]["train"]), 1) == 5.0


def test_rows_fix_their_config_or_search_a_grid_skipping_points_outside_eq9(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    rows = yaml.safe_load((REPO / "params.yaml").read_text())["studies"]["rows"]
    rows["resample"] = {"method": "gerne", "groups": "known", "select": "val_gba", "config": {"c": 1.0, "beta": 0.0},
                        "search": "none"}
    rows["gridded"] = {"method": "gerne", "groups": "known", "select": "val_gba", "config": {"c": 0.5},
                       "search": {"beta": [0.0, 1.0, 50.0]}}
    p = _params({"waterbirds": {**TINY, "model": "mlp", "model_options": {"hidden": [8]}}}, seeds=[0, 1], rows=rows)
    fixed = stages.search(p, "waterbirds", "resample", data, tmp_path / "sweep/resample", tmp_path / "runs/resample")
    assert [c["search_config"] for c in fixed["candidates"]] == [{"lr": 1.0e-4, "c": 1.0, "beta": 0.0, "t": 0.1}]
    assert json.loads((tmp_path / "runs/resample/seed1.json").read_text())["config"]["beta"] == 0.0
    sweep = tmp_path / "sweep/gridded"
    choice = stages.search(p, "waterbirds", "gridded", data, sweep, tmp_path / "runs/gridded")
    assert [c["config"] for c in choice["candidates"]] == [0, 1]  # β = 50 is refused before training
    (skip,) = choice["skipped"]
    assert skip["config"] == 2 and skip["search_config"]["beta"] == 50.0 and "Eq. 9" in skip["reason"]
    assert [c["name"] for c in choice["candidates"]] == ["sweep_known_b0.0", "sweep_known_b1.0"]  # by value
    assert not (sweep / "sweep_known_b50.0").exists() and json.loads((sweep / "selected.json").read_text()) == choice
    assert (tmp_path / "runs/gridded/seed1.json").is_file()
    # the grid extended in front: the trained points are found by name (no index shift) and reused; one trains
    trained = {n: (sweep / n / "seed0.json").stat().st_mtime_ns for n in ("sweep_known_b0.0", "sweep_known_b1.0")}
    rows["gridded"]["search"] = {"beta": [0.5, 0.0, 1.0]}
    p = _params({"waterbirds": {**TINY, "model": "mlp", "model_options": {"hidden": [8]}}}, seeds=[0, 1], rows=rows)
    stages.search(p, "waterbirds", "gridded", data, sweep, tmp_path / "runs/gridded")
    assert {n: (sweep / n / "seed0.json").stat().st_mtime_ns for n in trained} == trained
    assert (sweep / "sweep_known_b0.5" / "seed0.json").is_file()
    # what decides the numbers changed (the protocol's weight decay): no point counts as done any more
    p = _params({"waterbirds": {**TINY, "weight_decay": 0.5, "model": "mlp", "model_options": {"hidden": [8]}}},
                seeds=[0, 1], rows=rows)
    stages.search(p, "waterbirds", "gridded", data, sweep, tmp_path / "runs/gridded")
    assert all((sweep / n / "seed0.json").stat().st_mtime_ns != m for n, m in trained.items())


def test_dfr_row_refits_the_reference_and_reruns_when_it_changes(tmp_path: Path) -> None:
    """DFR's edge is f̃'s checkpoint: a C grid, the winner with every seed; a missing or corrupt checkpoint is
    refused by name; a retrained reference (another checkpoint) retrains the runs instead of reusing them."""
    data = toy_dataset(tmp_path / "toy", conflicting=0.3)  # the holdout (val: not C-MNIST) holds every group
    rows = yaml.safe_load((REPO / "params.yaml").read_text())["studies"]["rows"]
    model = {"model": "mlp", "model_options": {"hidden": [8]}}
    p = _params({"waterbirds": {**TINY, **model}}, seeds=[0, 1], rows=rows)
    ckpt = tmp_path / "biased.pt"
    with pytest.raises(DataError, match="needs the reference model's checkpoint"):
        stages.search(p, "waterbirds", "dfr", data, tmp_path / "sweep", tmp_path / "runs", ckpt)
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read the reference model"):
        stages.search(p, "waterbirds", "dfr", data, tmp_path / "sweep", tmp_path / "runs", ckpt)
    reference.train_reference(p, "waterbirds", data, ckpt, tmp_path / "biased.json")
    choice = stages.search(p, "waterbirds", "dfr", data, tmp_path / "sweep", tmp_path / "runs", ckpt)
    grid = rows["dfr"]["search"]["C"]
    assert [c["search_config"]["C"] for c in choice["candidates"]] == grid
    seeds = [json.loads((tmp_path / f"runs/seed{s}.json").read_text()) for s in (0, 1)]
    assert {s["method"] for s in seeds} == {"dfr"} and all(s["epochs_run"] == 1 for s in seeds)
    assert seeds[0]["config"]["search_config"]["C"] == choice["best"]["search_config"]["C"]
    first = {s["mlflow_run_id"] for s in seeds}
    stages.search(p, "waterbirds", "dfr", data, tmp_path / "sweep", tmp_path / "runs", ckpt)  # all reused
    assert {json.loads((tmp_path / f"runs/seed{s}.json").read_text())["mlflow_run_id"] for s in (0, 1)} == first
    other = _params({"waterbirds": {**TINY, **model}}, seeds=[0, 1], rows=rows,
                    reference={**p.studies.reference.model_dump(), "lr_factor": 0.5})
    reference.train_reference(other, "waterbirds", data, ckpt, tmp_path / "biased.json")
    stages.search(p, "waterbirds", "dfr", data, tmp_path / "sweep", tmp_path / "runs", ckpt)
    assert not first & {json.loads((tmp_path / f"runs/seed{s}.json").read_text())["mlflow_run_id"] for s in (0, 1)}
    wide = _params({"waterbirds": {**TINY, "model": "mlp", "model_options": {"hidden": [4]}}}, seeds=[0], rows=rows)
    with pytest.raises(ConfigError, match="DFR retrains the reference's last layer"):
        stages.search(wide, "waterbirds", "dfr", data, tmp_path / "sweep2", tmp_path / "runs2", ckpt)


def test_test_selection_reruns_the_test_best_point_with_every_seed(birds: tuple[Path, dict], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The paper's protocol: the grid point best on test gets every seed in its sweep folder; ours is unchanged."""
    data, _ = birds
    p = _params({"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                datasets=["waterbirds"], search={"configs": 3, "seed": 0})
    p.studies.rows["yes_yes"] = p.studies.rows["yes_yes"].model_copy(update={"test_selection": True})
    sweep, out = tmp_path / "sweep", tmp_path / "out"
    real_best, picked = stages.best_on_test, {}

    def another_point(sweep_dir, trained, seed, metric):  # force a point validation did not choose
        chosen = json.loads((Path(sweep_dir) / "selected.json").read_text())["best"]["name"]
        picked.update(real_best(sweep_dir, [e for e in trained if e["name"] != chosen], seed, metric))
        return dict(picked)

    monkeypatch.setattr(stages, "best_on_test", another_point)
    choice = stages.search(p, "waterbirds", "yes_yes", data, sweep, out)
    assert picked["metric"] == "test_wga" and picked["name"] != choice["best"]["name"]
    extra = json.loads((sweep / picked["name"] / "seed1.json").read_text())
    assert extra["seed"] == 1 and extra["config"]["search_config"] == picked["search_config"]
    assert not (sweep / choice["best"]["name"] / "seed1.json").exists()  # the val winner's seeds are in `out`
    assert sorted(f.name for f in out.glob("seed*.json")) == ["seed0.json", "seed1.json"]
    mtime = (sweep / picked["name"] / "seed1.json").stat().st_mtime
    stages.search(p, "waterbirds", "yes_yes", data, sweep, out)  # resumes: nothing retrained
    assert (sweep / picked["name"] / "seed1.json").stat().st_mtime == mtime


def test_every_seed_on_trains_every_grid_point_with_every_seed(birds: tuple[Path, dict], tmp_path: Path) -> None:
    """Fig. 3's protocol: each point of the grid gets every seed in its sweep folder; the row's own seeds are the
    winner's, copied from there rather than trained twice."""
    data, _ = birds
    p = _params({"waterbirds": {**TINY, "model": "resnet18", "model_options": {"pretrained": False}}},
                datasets=["waterbirds"])
    p.studies.rows["yes_yes"] = p.studies.rows["yes_yes"].model_copy(
        update={"search": {"lr": [1.0e-3, 1.0e-2]}, "every_seed_on": ["waterbirds"]})
    sweep, out = tmp_path / "sweep", tmp_path / "out"
    choice = stages.search(p, "waterbirds", "yes_yes", data, sweep, out)
    points = sorted(f.name for f in sweep.glob("sweep_*"))
    assert len(points) == 2
    for point in points:
        assert sorted(f.name for f in (sweep / point).glob("seed*.json")) == ["seed0.json", "seed1.json"]
    winner = sweep / choice["best"]["name"]
    assert (out / "seed1.json").read_bytes() == (winner / "seed1.json").read_bytes()
