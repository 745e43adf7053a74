"""DVC stage `figures`: Fig. 2 (β curves) and Fig. 3 (pseudo-attribute quality) from committed summaries."""

import json
from pathlib import Path

import click
import numpy as np

from gerne import layout
from gerne.core.shares import beta_bounds, plain
from gerne.data.groups import train_counts_and_shares
from gerne.errors import ConfigError, DataError
from pipeline._common import data_option, params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.config import Params, load_params
from pipeline.plan import plan
from pipeline.reports.figures import divergence, figure2, figure3


def _summaries(runs: str, dataset: str, setting: str, seeds: list[int]) -> list[dict]:
    out = []
    for seed in seeds:
        path = layout.summary(Path(runs) / setting, seed)
        if not path.is_file():
            raise DataError(f"missing run summary {path}; run `dvc repro` (stage train trains {setting} on {dataset})")
        out.append(json.loads(path.read_text()))
    return out


def _histories(runs: str, dataset: str, setting: str, seeds: list[int]) -> list[list[dict]]:
    return [s["history"] for s in _summaries(runs, dataset, setting, seeds)]


def beyond_caption(beta: float, summaries: list[dict], bounds: tuple[float, float], c: float) -> str:
    """Fig. 2's note on a run above Eq. 9's bound, from its summaries: where each seed diverged and the test GBA it
    ended at; for the seeds that did not, their peak losses and last-epoch test GBA."""
    lo, hi = bounds
    where = "above" if beta > hi else "below" if beta < lo else "inside"
    head = f"β = {plain(beta)} ({where} Eq. 9's [{lo:.4f}, {hi:.4f}] for c = {plain(c)}; trained with " \
           "beyond_eq9_bound, figure only): "
    found = [divergence(s["history"], bool(s.get("diverged"))) for s in summaries]
    gba = [s["selections"]["last"]["metrics"].get("test_gba", float("nan")) for s in summaries]
    parts = [f"seed {i} diverged at epoch {f[0]} ({f[1]}; last-epoch test GBA {gba[i]:.3f})"
             for i, f in enumerate(found) if f]
    calm = [i for i, f in enumerate(found) if not f]
    if calm:
        peak = {k: max(abs(r[k]) for i in calm for r in summaries[i]["history"]) for k in ("loss_b", "loss_ext")}
        first = np.mean([summaries[i]["history"][0]["loss_b"] for i in calm])
        who = f"the other {len(calm)} did not" if parts else "no seed diverged"
        parts.append(f"{who} in {min(summaries[i]['epochs_run'] for i in calm)} epochs "
                     f"(L_ext finite, within ± its epoch-1 value): peak L_b {peak['loss_b']:.3g} (epoch 1: "
                     f"{first:.3g}), peak |L_ext| {peak['loss_ext']:.3g}; last-epoch test GBA "
                     f"{np.mean([gba[i] for i in calm]):.3f} ± {np.std([gba[i] for i in calm]):.3f}")
    return head + "; ".join(parts)


def refused_caption(alpha: np.ndarray, c: float, beta: float) -> str:
    """Fig. 2's note on a β beyond the bound: what the training stage answers, with the bounds of Eq. 9."""
    lo, hi = beta_bounds(alpha, c)
    if lo <= beta <= hi:
        return f"β = {beta} lies inside Eq. 9's bounds here"
    return (f"β = {beta}: refused before training — beta = {plain(beta)} is outside the Eq. 9 bounds "
            f"[{lo:.4f}, {hi:.4f}] for c = {plain(c)} on the training data")


@click.group()
def main() -> None:
    """Draw the paper's figures from committed run summaries and metrics."""


@main.command()
@params_option
@data_option
@click.option("--runs", required=True, type=click.Path(file_okay=False),
              help="The dataset's runs folder (<row>/seed<n>.json).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@stage
def fig2(params_path: str, data: str, runs: str, out: str) -> None:
    """Fig. 2: losses and minority/majority accuracies per β, plus what happens above Eq. 9's bound."""
    draw_fig2(load_params(params_path), data, runs, out)


def draw_fig2(p: Params, data: str, runs: str, out: str) -> None:
    """Fig. 2 of ``p``'s figures dataset from its prepared ``data`` and its ``runs`` folder, into ``out``."""
    if p.figures is None:
        raise ConfigError("params.yaml has no `figures` section; add it to draw the figures")
    f, rows, seeds = p.figures, p.studies.rows, p.studies.seeds
    curves = {rows[s].config["beta"]: _histories(runs, f.dataset, s, seeds) for s in f.fig2_rows}
    c = rows[f.fig2_rows[0]].config.get("c", p.datasets[f.dataset].c)
    _, alpha = train_counts_and_shares(data)
    bounds, beyond, notes = beta_bounds(alpha, c), {}, []
    for name in f.fig2_beyond_rows:
        beta, own_c = rows[name].config["beta"], rows[name].config.get("c", c)
        if own_c != c:
            raise ConfigError(f"figures.fig2_beyond_rows: '{name}' has c = {own_c}, Fig. 2's rows c = {c}; one c "
                              "shares one Eq. 9 bound")
        summaries = _summaries(runs, f.dataset, name, seeds)
        beyond[beta] = ([s["history"] for s in summaries], [bool(s.get("diverged")) for s in summaries])
        notes.append(beyond_caption(beta, summaries, bounds, c))
    outside = [b for b in beyond if not bounds[0] <= b <= bounds[1]]
    if outside:
        notes.append("Without the override (any other row): " + refused_caption(alpha, c, max(outside)))
    figure2(curves, out, "\n".join(notes), beyond, bounds)
    log_to_mlflow(f"figure-{Path(out).stem}", [out])
    wrote([out], f"Fig. 2: β = {', '.join(map(str, [*curves, *beyond]))} on {f.dataset}, {len(seeds)} seed(s) each"
          + (f" ({len(beyond)} with beyond_eq9_bound, {len(outside)} outside Eq. 9)" if beyond else ""))


@main.command()
@click.option("--quality", required=True, type=click.Path(dir_okay=False, exists=True), help="pseudo.json.")
@click.option("--sweep", "sweep_dir", required=True, type=click.Path(file_okay=False),
              help="The unknown-attribute sweep of that ratio (best-β panels once it has finished).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@stage
def fig3(quality: str, sweep_dir: str, out: str) -> None:
    """Fig. 3: precision and recall of the pseudo-minority per t (best β and accuracy once the t × β sweep ran)."""
    draw_fig3(quality, sweep_dir, out)


def draw_fig3(quality: str, sweep_dir: str, out: str) -> None:
    """Fig. 3 from the pseudo-attributes' quality file and the unknown-attribute sweep folder, into ``out``."""
    from pipeline.reports.claims import PROTOCOLS, best_beta, sweep_points

    points = sweep_points(Path(sweep_dir))
    pseudo_quality = json.loads(Path(quality).read_text())
    sweep = {p: best_beta(points, p) for p in PROTOCOLS} if not points.empty else None
    figure3(pseudo_quality, sweep, out)
    log_to_mlflow(f"figure-{Path(out).stem}", [out])
    wrote([out], f"Fig. 3: {len(pseudo_quality['thresholds'])} thresholds t; "
                 + ("best β per t from the finished sweep" if sweep else "the t × β sweep has not finished: "
                    "precision and recall only"))


@main.command("all")
@params_option
@stage
def draw_all(params_path: str) -> None:
    """Figs. 2 and 3 of params.yaml's `figures` dataset into reports/figures/fig{2,3}_<dataset>.png (DVC stage
    `figures`)."""
    p = load_params(params_path)
    Path(layout.FIGURES).mkdir(parents=True, exist_ok=True)
    for name, item in plan(p)["figures"].items():
        draw_fig2(p, item["data"], item["runs"], layout.figure(2, name))
        draw_fig3(item["quality"], item["sweep"], layout.figure(3, name))


if __name__ == "__main__":
    main()
