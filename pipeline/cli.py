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
@click.option("--data-root", default="data", show_default=True, type=click.Path(file_okay=False),
              help="Where the data stage puts prepared data (<dataset folder>/).")
def validate(params_path: str, data_root: str) -> None:
    """Validate a params file strictly, refuse what a stage would refuse (devices, β outside Eq. 9 on the data
    already prepared) and list the runs it defines."""
    from pathlib import Path

    from pipeline.checks import stage_checks
    from pipeline.config import load_params

    try:
        p = load_params(params_path)
    except GerneError as exc:
        _fail(exc)
    errors, notes = stage_checks(p, Path(params_path).parent, Path(data_root))
    if errors:
        for message in errors:
            click.echo(f"error: {message}", err=True)
        click.echo(f"{params_path}: {len(errors)} problem(s); the stages would refuse them", err=True)
        sys.exit(1)
    from pipeline.plan import plan

    items, st = plan(p), p.studies
    if items["train"] or items["sweep"] or items["valonly"]:
        from pipeline.studies.paper_protocol import sweep_runs
        from pipeline.studies.search import row_configs

        sweeps = [(len(row_configs(p.datasets[i["dataset"]], st.search, spec := st.rows[i["row"]])),
                   i["dataset"] in spec.every_seed_on, spec.test_selection) for i in items["sweep"].values()]
        configs = sum(n for n, _, _ in sweeps)
        runs = len(items["train"]) * len(st.seeds) + sum(
            sweep_runs(n, len(st.seeds), every_seed=every, test_selection=test) for n, every, test in sweeps)
        click.echo(f"{params_path}: ok — {len(items['prepare'])} dataset(s): {len(items['train'])} row(s) × "
                   f"{len(st.seeds)} seeds, {len(sweeps)} search(es) of {configs} configs + the winners' other "
                   f"seeds + the test-best points' other seeds ({sum(t and not e for _, e, t in sweeps)} with "
                   f"test_selection) + every point's other seeds ({sum(e for _, e, _ in sweeps)} with every_seed_on) "
                   f"= {runs} runs at most (grid points outside Eq. 9 are skipped; each winner's search-seed run is "
                   "its grid point, counted once), plus "
                   f"{len(items['reference'])} reference model(s)"
                   + (f", Table 3: {(st.table3.folds + 1) * len(st.seeds)} runs each" if items["valonly"] else ""))
    else:
        click.echo(f"{params_path}: ok — no study lists a dataset: list them under studies.tables")
    for note in notes:
        click.echo(f"  {note}")


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
@click.option("--workers", default=1, show_default=True, type=int, help="MLflow server worker processes.")
def ui(port: int, host: str, workers: int) -> None:
    """Open the MLflow UI on the project's tracking store, the committed run summaries imported first; print each
    experiment's runs-table link once the server answers."""
    import signal
    import subprocess

    from gerne.tracking import default_tracking_uri
    from gerne.ui import experiment_links, wait_until_up

    uri = default_tracking_uri()
    _import_runs(uri)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    click.echo(f"MLflow UI for {uri}: starting on {base}")
    # GenAI job execution (judges, optimisers) is unused here and starts extra processes: off unless set.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host,
                             "--port", str(port), "--workers", str(workers)], env=env)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())  # the server stops with this command
    try:
        if wait_until_up(base, lambda: proc.poll() is None):
            links = experiment_links(uri, base)
            for name, url in links:
                click.echo(f"  {name}: {url}")
            if not links:
                click.echo("  no runs are logged yet: `make repro` (or `dvc repro`) creates them")
            click.echo(f"MLflow UI ready on {base} (Ctrl-C stops it)")
        elif proc.poll() is None:
            click.echo(f"warning: the MLflow server does not answer on {base} yet", err=True)
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        sys.exit(proc.wait())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; a team server binds 0.0.0.0 and names itself in --allowed-hosts.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--backend-store-uri", default=None,
              help="The store (default: the project's SQLite file; postgresql://… for many writers).")
@click.option("--allowed-hosts", default=None, help="Comma-separated Host headers the server accepts (team server).")
@click.option("--cors-allowed-origins", default=None, help="Comma-separated origins a browser UI may call from.")
@click.option("--workers", default=1, show_default=True, type=int, help="MLflow server worker processes.")
def server(host: str, port: int, backend_store_uri: str | None, allowed_hosts: str | None,
           cors_allowed_origins: str | None, workers: int) -> None:
    """Serve the project's MLflow store over HTTP, so Ray tasks on other machines log into it
    (MLFLOW_TRACKING_URI=http://<host>:<port>). The store and its experiments are created first."""
    from gerne.tracking import default_tracking_uri, project_root

    uri = backend_store_uri or default_tracking_uri()
    if uri.startswith(("http://", "https://")):
        _fail(GerneError(f"--backend-store-uri is {uri}, a server itself; give the database the server serves "
                         "(sqlite:///… or postgresql://…), or unset MLFLOW_TRACKING_URI"))
    os.environ["MLFLOW_TRACKING_URI"] = uri
    store_init.callback()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"MLflow server for {uri} on http://{shown}:{port}; point the stages and Ray tasks at it with\n"
               f"  export MLFLOW_TRACKING_URI=http://{shown}:{port}")
    sys.stdout.flush()  # exec drops Python's buffers
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", host, "--port", str(port),
           "--workers", str(workers), "--serve-artifacts",
           "--artifacts-destination", str(project_root() / "mlartifacts")]
    for flag, value in (("--allowed-hosts", allowed_hosts), ("--cors-allowed-origins", cors_allowed_origins)):
        if value:
            cmd += [flag, value]
    os.execvpe(sys.executable, cmd, {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ})


def _declared_experiments() -> list[str]:
    """The experiments of the declared datasets the studies use (none when params.yaml is absent or invalid: the
    stages say why)."""
    from gerne.errors import ConfigError
    from pipeline.config import load_params
    from pipeline.plan import used_datasets
    from pipeline.studies.runs import experiment

    try:
        p = load_params("params.yaml")
    except ConfigError:
        return []
    return list(dict.fromkeys(experiment(n, p.datasets[n]) for n in used_datasets(p)))


def _declared_folders() -> dict[str, tuple[str, str]]:
    """{a declared dataset's folder: (the dataset, its MLflow experiment)} ({} without a valid params.yaml)."""
    from gerne.errors import ConfigError
    from gerne.tracking import project_root
    from pipeline.config import load_params
    from pipeline.plan import folder
    from pipeline.studies.runs import experiment

    try:
        p = load_params(project_root() / "params.yaml")
    except ConfigError:
        return {}
    return {folder(p, n): (n, experiment(n, d)) for n, d in p.datasets.items()}


def _import_runs(uri: str) -> None:
    """Bring the store at ``uri`` up to date with the committed run summaries (``runs/``) and say what it did."""
    from gerne.store_import import import_summaries
    from gerne.tracking import project_root

    runs = project_root() / "runs"
    result = import_summaries(runs, uri, _declared_folders())
    removed = f", {result.removed} stale imported run(s) deleted" if result.removed else ""
    sweeps = f" and {result.sweeps} sweep parent run(s)" if result.sweeps else ""
    click.echo(f"MLflow store: imported {result.imported} run summaries{sweeps} from {runs} in "
               f"{result.seconds:.1f} s ({result.present} already in the store{removed})")
    for problem in result.skipped:
        click.echo(f"  WARNING: not imported, not a readable run summary: {problem}", err=True)


@main.command("store-init")
@click.option("--no-import", "no_import", is_flag=True,
              help="Do not import the committed run summaries (runs/) into the store.")
def store_init(no_import: bool = False) -> None:
    """Create the MLflow store and the pipeline's experiments once, before parallel stages or queued experiments,
    and import the committed run summaries the store lacks (runs/: the UI shows every committed run)."""
    from gerne.store import init_store
    from gerne.tracking import _artifact_root, default_tracking_uri

    uri = default_tracking_uri()
    names = list(dict.fromkeys(["benchmarks", *_declared_experiments()]))
    ids = init_store(uri, [*names, *(f"{n} (trials)" for n in names)], _artifact_root(uri))  # dvc exp runs: trials
    click.echo(f"MLflow store: {uri}")
    for name, exp_id in ids.items():
        click.echo(f"  {exp_id:>4}  {name}")
    if not no_import:
        _import_runs(uri)


if __name__ == "__main__":
    main()
