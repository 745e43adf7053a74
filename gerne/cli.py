"""The ``gerne`` console command: check parameters, inspect β bounds of a dataset, find and open the MLflow store."""

from __future__ import annotations

import os
import sys

import click
import numpy as np

from gerne.errors import GerneError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gerne")
def main() -> None:
    """GERNE: gradient extrapolation for debiased training (ICCV 2025). `dvc repro` runs the pipeline."""


def _fail(exc: GerneError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@main.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
def validate(params_path: str) -> None:
    """Validate a params file strictly and list the runs it defines."""
    from gerne.config import load_params

    try:
        p = load_params(params_path)
    except GerneError as exc:
        _fail(exc)
    rows = p.table_settings()
    n = len(p.cmnist.ratios) * len(rows) * len(p.train.seeds)
    click.echo(f"{params_path}: ok — Table 1: {len(p.cmnist.ratios)} ratios × {len(rows)} rows × "
               f"{len(p.train.seeds)} seeds = {n} runs, {p.train.epochs} epochs each")
    if p.sweep is not None:
        from gerne.runs.sweep import grid

        points = sum(len(grid(p, kind)) for kind in ("known", "unknown")) * len(p.cmnist.ratios)
        click.echo(f"  + sweep: {points} grid points (seed {p.sweep.seed}; those outside Eq. 9 are skipped)")
    sp = p.subpop
    if sp is not None and sp.datasets:
        per = len(sp.settings) * (sp.search.configs + len(sp.seeds) - 1) + 1
        click.echo(f"  + Datasets-2 {sp.datasets}: {per} runs each ({len(sp.settings)} settings × "
                   f"({sp.search.configs} configs + {len(sp.seeds) - 1} more seeds) + the biased model)"
                   + (f"; Table 3: {(sp.table3.folds + 1) * len(sp.seeds)} runs" if sp.table3.datasets else ""))
    elif sp is not None:
        click.echo("  Datasets-2 (Table 2/3): off — set subpop.datasets to switch them on")


@main.command()
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="A prepared dataset directory (metadata.csv + counts.json).")
@click.option("--c", "c", required=True, type=float, help="Bias-reduction factor c ∈ (0, 1].")
@click.option("--beta", type=float, default=None, help="Also check this β against the bounds.")
def bounds(data_dir: str, c: float, beta: float | None) -> None:
    """Print the training group shares α and the β bounds of Eq. 9 for a dataset."""
    from gerne.core.shares import beta_bounds, check_beta
    from gerne.data.groups import train_counts_and_shares

    try:
        counts, alpha = train_counts_and_shares(data_dir)
        lo, hi = beta_bounds(alpha, c)
        with np.printoptions(precision=4, suppress=True, linewidth=120):
            click.echo(f"train group counts (rows = classes, columns = attributes):\n{counts}")
            click.echo(f"alpha (Eq. 2):\n{alpha}")
        click.echo(f"beta bounds (Eq. 9) for c = {c}: [{lo:.4f}, {hi:.4f}]")
        if beta is not None:
            check_beta(alpha, c, beta)
            click.echo(f"beta = {beta} is inside the bounds")
    except (GerneError, ValueError) as exc:
        _fail(exc if isinstance(exc, GerneError) else GerneError(str(exc)))


@main.command("tracking-uri")
def tracking_uri() -> None:
    """Print the MLflow tracking URI the pipeline uses here."""
    from gerne.tracking import default_tracking_uri

    click.echo(default_tracking_uri())


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def ui(port: int, host: str) -> None:
    """Open the MLflow UI on the project's tracking store."""
    from gerne.tracking import default_tracking_uri

    uri = default_tracking_uri()
    click.echo(f"MLflow UI for {uri} on http://{host}:{port}")
    os.execvp(sys.executable, [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                               "--host", host, "--port", str(port)])
