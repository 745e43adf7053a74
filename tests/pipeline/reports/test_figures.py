"""Figures 2 and 3 are drawn from summaries (PNG files a reader can open), including a diverged run."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
from click.testing import CliRunner

from pipeline import figures
from pipeline.reports.claims import best_beta, sweep_points
from pipeline.reports.figures import curves, divergence, figure2, figure3
from tests.helpers import toy_dataset
from tests.pipeline.test_stages import write_params


def _history(n: int, scale: float) -> list[dict[str, float]]:
    return [{"epoch": e, "loss_b": scale / e, "loss_lb": 2 * scale / e, "loss_ext": scale / e ** 0.5,
             "train_conflicting_acc": 0.5, "train_aligned_acc": 0.99, "val_conflicting_acc": 0.4,
             "val_aligned_acc": 0.98, "test_acc": 0.7 + e / 100} for e in range(1, n + 1)]


def _quality() -> dict:
    ts = {repr(t): {"avg_precision": 1.0 - t * 10, "avg_recall": t * 50} for t in (5.0e-4, 1.0e-3, 1.0e-2)}
    return {"true_minority": 275, "thresholds": ts}


def test_curves_cut_at_the_shortest_seed() -> None:
    x, mean, std = curves([_history(5, 1.0), _history(3, 3.0)], "loss_b")
    assert list(x) == [1, 2, 3]
    assert np.allclose(mean, [2.0, 1.0, 2 / 3]) and np.allclose(std, [1.0, 0.5, 1 / 3])


def write_sweep(sweep: Path, points: dict[tuple[float, ...], tuple[float, ...]]) -> None:
    """A finished unknown-attribute sweep: (t, β) → (val GBA, test GBA at the best-validation checkpoint[, best
    test GBA of any epoch: the oracle checkpoint, default the same])."""
    candidates = []
    for (t, beta), (val, test, *oracle) in points.items():
        name = f"sweep_unknown_t{t!r}_c0.5_b{beta!r}"
        (sweep / name).mkdir(parents=True)
        (sweep / name / "seed0.json").write_text(json.dumps(
            {"selections": {"best_val": {"metrics": {"val_gba": val, "test_gba": test}},
                            "oracle": {"metrics": {"test_gba": oracle[0] if oracle else test}}}}))
        candidates.append({"name": name, "point": {"t": t, "c": 0.5, "beta": beta}, "value": val})
    (sweep / "grid.json").write_text(json.dumps({"seed": 0}))
    best = max(candidates, key=lambda c: c["value"])
    (sweep / "selected.json").write_text(json.dumps({"kind": "unknown", "ratio": 0.5, "best": best,
                                                     "candidates": candidates, "skipped": []}))


def test_fig3_picks_beta_by_validation_and_by_test(tmp_path: Path) -> None:
    assert sweep_points(tmp_path / "none").empty
    write_sweep(tmp_path / "s", {(1.0e-3, 1.0): (0.80, 0.70, 0.72), (1.0e-3, 2.5): (0.85, 0.66),
                                 (1.0e-3, 2.8): (0.7, 0.70, 0.75), (5.0e-3, 1.0): (0.90, 0.88)})
    points = sweep_points(tmp_path / "s")
    by_val, by_test = best_beta(points, "best_val"), best_beta(points, "test")
    assert by_val.to_dict("list") == {"t": [1.0e-3, 5.0e-3], "beta": [2.5, 1.0], "test": [66.0, 88.0],
                                      "seeds": [1, 1]}
    assert by_test["beta"].tolist() == [2.8, 1.0] and by_test["test"].tolist() == [75.0, 88.0]
    figure3(_quality(), {"best_val": by_val, "test": by_test}, tmp_path / "f3.png")
    assert mpimg.imread(tmp_path / "f3.png").std() > 0.01


def test_figures_are_images(tmp_path: Path) -> None:
    figure2({-1.0: [_history(6, 1.0)] * 2, 1.2: [_history(6, 1.0), _history(3, 2.0)]}, tmp_path / "f2.png",
            "β = 1.3: refused")
    figure3(_quality(), None, tmp_path / "f3.png")
    for name in ("f2.png", "f3.png"):
        img = mpimg.imread(tmp_path / name)
        assert img.shape[0] > 200 and img.shape[1] > 600 and img.std() > 0.01  # drawn, not blank


def _exploding(n: int, at: int) -> list[dict[str, float]]:
    """A history whose L_b grows tenfold per epoch from epoch ``at`` on (and L_ext falls below zero with it)."""
    out = _history(n, 1.0)
    for row in out[at - 1:]:
        row["loss_b"] = 10.0 ** (row["epoch"] - at + 1)
        row["loss_ext"] = 2.3 * row["loss_lb"] - 1.3 * row["loss_b"]
    return out


def test_divergence_is_found_where_it_happens() -> None:
    assert divergence(_history(6, 1.0)) is None
    back = _history(6, 1.0)
    back[4]["loss_ext"] = 1.5  # the objective climbs above where training started
    assert divergence(back) == (5, "|$L_{ext}$| 1.5 above its epoch-1 1")
    assert divergence(_exploding(8, 4)) == (4, "|$L_{ext}$| 11.8 above its epoch-1 1")  # L_ext falls without bound
    assert divergence(_history(3, 1.0), diverged=True) == (3, "objective not finite, training stopped")
    nan = _history(4, 1.0)
    nan[2]["loss_ext"] = float("nan")
    assert divergence(nan) == (3, "$L_{ext}$ not finite")
    untracked = [{**row, "loss_lb": float("nan")} for row in _history(4, 1.0)]  # β = −1: L_lb never computed
    assert divergence(untracked) is None


def test_fig2_draws_the_runs_beyond_the_bound(tmp_path: Path) -> None:
    """Rows above Eq. 9's bound are drawn below the others, every seed dashed, where each diverged marked."""
    runs = {-1.0: [_history(8, 1.0)] * 2, 1.2: [_history(8, 1.0)] * 2}
    figure2(runs, tmp_path / "plain.png")
    beyond = {1.3: ([_exploding(8, 4), _history(5, 1.0)], [False, True])}
    figure2(runs, tmp_path / "beyond.png", "β = 1.3: 2 of 2 seed(s) diverged", beyond, (-1.0081, 1.2234))
    plain, drawn = mpimg.imread(tmp_path / "plain.png"), mpimg.imread(tmp_path / "beyond.png")
    assert drawn.shape[0] > plain.shape[0] * 1.4 and drawn.std() > 0.01  # a third row of panels, drawn


def test_figures_stage(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    toy_dataset(tmp_path / "toy")  # Eq. 9 at c = 0.5: [-1.0619, 2.0390]
    params = write_params(tmp_path / "p.yaml", **{"studies.rows.fig2_beta_1p25.config.beta": 2.5,
                                                   "studies.rows.fig2_beta_1p3.config.beta": 3.0})
    for i, setting in enumerate(("fig2_beta_m1", "fig2_beta_0", "fig2_beta_1", "fig2_beta_1p2")):
        path = tmp_path / "runs" / setting / "seed0.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"history": _history(4, 1.0 + i)}))
    last = {"last": {"metrics": {"test_gba": 0.5}}}
    for setting, history, stopped in (("fig2_beta_1p25", _history(4, 1.0), False), ("fig2_beta_1p3", _history(2, 1.0),
                                                                                    True)):
        path = tmp_path / "runs" / setting / "seed0.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"history": history, "diverged": stopped, "epochs_run": len(history),
                                    "selections": last}))
    (tmp_path / "q.json").write_text(json.dumps(_quality()))
    args = ["fig2", "--params", str(params), "--data", "toy", "--runs", "runs", "--out", "figs/f2.png"]
    result = CliRunner().invoke(figures.main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "figs/f2.png").stat().st_size > 10_000
    assert "Fig. 2: β = -1.0, 0.0, 1.0, 1.2, 2.5, 3.0 on cmnist, 1 seed(s) each (2 with beyond_eq9_bound, 2 outside " \
        "Eq. 9)" in result.output
    fig3 = ["fig3", "--quality", "q.json", "--sweep", "sweep", "--out", "figs/f3.png"]
    result = CliRunner().invoke(figures.main, fig3)  # the sweep has not run: its panels say so
    assert result.exit_code == 0 and (tmp_path / "figs/f3.png").stat().st_size > 10_000
    write_sweep(tmp_path / "sweep", {(5.0e-4, 1.0): (0.8, 0.7)})
    result = CliRunner().invoke(figures.main, fig3)
    assert result.exit_code == 0, result.output
    (tmp_path / "runs/fig2_beta_0/seed0.json").unlink()
    result = CliRunner().invoke(figures.main, args)
    assert result.exit_code == 1 and "stage train trains fig2_beta_0 on cmnist" in result.output


def test_fig2_caption_of_the_runs_beyond_the_bound() -> None:
    """The note under Fig. 2 is written from the runs: the bounds, and where each seed diverged or its peak losses."""
    from pipeline.figures import beyond_caption

    last = {"last": {"metrics": {"test_gba": 0.25}}}
    stopped = [{"history": _history(3, 1.0), "diverged": True, "epochs_run": 3, "selections": last},
               {"history": _exploding(6, 2), "diverged": False, "epochs_run": 6, "selections": last}]
    assert beyond_caption(1.3, stopped, (-1.0081, 1.2234), 0.5) == (
        "β = 1.3 (above Eq. 9's [-1.0081, 1.2234] for c = 0.5; trained with beyond_eq9_bound, figure only): seed 0 "
        "diverged at epoch 3 (objective not finite, training stopped; last-epoch test GBA 0.250); seed 1 diverged at "
        "epoch 2 (|$L_{ext}$| 10.7 above its epoch-1 1; last-epoch test GBA 0.250)")
    calm = [{"history": _history(6, 1.0), "diverged": False, "epochs_run": 6, "selections": last}]
    assert beyond_caption(1.25, calm, (-1.0081, 1.2234), 0.5).endswith(
        "figure only): no seed diverged in 6 epochs (L_ext finite, within ± its epoch-1 value): peak L_b 1 (epoch 1: "
        "1), peak |L_ext| 1; last-epoch test GBA 0.250 ± 0.000")
    assert "; the other 1 did not in 6 epochs (L_ext finite" in beyond_caption(1.3, [*stopped, *calm], (0, 1), 0.5)


def test_fig2_caption_reads_the_bounds_and_matches_the_stage_error() -> None:
    """The caption is built from Eq. 9's bounds (not by cutting an error message) and says what check_beta says."""
    import numpy as np
    import pytest

    from gerne.core.shares import check_beta
    from gerne.errors import ConfigError
    from pipeline.figures import refused_caption

    alpha = np.array([[0.995, 0.005], [0.01, 0.99]])
    with pytest.raises(ConfigError) as err:
        check_beta(alpha, 0.5, 5.0)
    caption = refused_caption(alpha, 0.5, 5.0)
    assert caption.startswith("β = 5.0: refused before training — ")
    assert caption.split(" — ", 1)[1] == str(err.value).split(": the ")[0]
    assert refused_caption(alpha, 0.5, 0.5) == "β = 0.5 lies inside Eq. 9's bounds here"
