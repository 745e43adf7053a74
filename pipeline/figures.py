"""DVC stage `figures`: Fig. 2 (β curves) and Fig. 3 (pseudo-attribute quality) from committed summaries."""

import json
from pathlib import Path

import click
import numpy as np

from gerne.core.shares import beta_bounds, plain
from gerne.data.groups import train_counts_and_shares
from gerne.errors import ConfigError, DataError
from pipeline._common import data_option, params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.plan import load_planned
from pipeline.reports.figures import figure2, figure3
from pipeline.reports.sweeps import best_beta_per_t


def _histories(runs: str, dataset: str, setting: str, seeds: list[int]) -> list[list[dict]]:
    out = []
    for seed in seeds:
        path = Path(runs) / setting / f"seed{seed}.json"
        if not path.is_file():
            raise DataError(f"missing run summary {path}; run `dvc repro` (stage train@{dataset}-{setting})")
        out.append(json.loads(path.read_text())["history"])
    return out


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
    p = load_planned(params_path)
    if p.figures is None:
        raise ConfigError("params.yaml has no `figures` section; add it to draw the figures")
    f, rows, seeds = p.figures, p.studies.rows, p.studies.seeds
    curves = {rows[s].config["beta"]: _histories(runs, f.dataset, s, seeds) for s in f.fig2_rows}
    c = rows[f.fig2_rows[0]].config.get("c", p.datasets[f.dataset].c)
    _, alpha = train_counts_and_shares(data)
    figure2(curves, out, refused_caption(alpha, c, f.beyond_bound_beta))
    log_to_mlflow(f"figure-{Path(out).stem}", [out])
    wrote([out], f"Fig. 2: β = {', '.join(map(str, curves))} on {f.dataset}, {len(seeds)} seed(s) each")


@main.command()
@click.option("--quality", required=True, type=click.Path(dir_okay=False, exists=True), help="pseudo.json.")
@click.option("--sweep", "sweep_dir", required=True, type=click.Path(file_okay=False),
              help="The unknown-attribute sweep of that ratio (best-β panels once it has finished).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@stage
def fig3(quality: str, sweep_dir: str, out: str) -> None:
    """Fig. 3: precision and recall of the pseudo-minority per t (best β and accuracy once the t × β sweep ran)."""
    pseudo_quality, sweep = json.loads(Path(quality).read_text()), best_beta_per_t(sweep_dir)
    figure3(pseudo_quality, sweep, out)
    log_to_mlflow(f"figure-{Path(out).stem}", [out])
    wrote([out], f"Fig. 3: {len(pseudo_quality['thresholds'])} thresholds t; "
                 + ("best β per t from the finished sweep" if sweep else "the t × β sweep has not finished: "
                    "precision and recall only"))


if __name__ == "__main__":
    main()
