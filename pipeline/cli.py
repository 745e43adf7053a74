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
              help="Where the stages put prepared data (cmnist/r<ratio>/, pseudo/cmnist/r<ratio>/pseudo.npz).")
def validate(params_path: str, data_root: str) -> None:
    """Validate a params file strictly, refuse what a stage would refuse (devices, β outside Eq. 9 on the data
    already prepared) and list the runs it defines."""
    from pathlib import Path

    from pipeline.config import load_params

    try:
        p = load_params(params_path)
    except GerneError as exc:
        _fail(exc)
    errors = _device_errors(p)
    beta_errors, notes = _beta_checks(p, Path(data_root))
    errors += beta_errors
    if errors:
        for message in errors:
            click.echo(f"error: {message}", err=True)
        click.echo(f"{params_path}: {len(errors)} problem(s); the stages would refuse them", err=True)
        sys.exit(1)
    rows = p.table_settings()
    n = len(p.cmnist.ratios) * len(rows) * len(p.train.seeds)
    click.echo(f"{params_path}: ok — Table 1: {len(p.cmnist.ratios)} ratios × {len(rows)} rows × "
               f"{len(p.train.seeds)} seeds = {n} runs, {p.train.epochs} epochs each")
    if p.sweep is not None:
        from pipeline.spaces import points as space

        points = sum(len(space("grid", p, kind)) for kind in ("known", "unknown")) * len(p.cmnist.ratios)
        click.echo(f"  + sweep: {points} grid points (seed {p.sweep.seed}; those outside Eq. 9 are skipped)")
    from pipeline.plan import plan

    items, st = plan(p), p.studies
    if items["sweep"] or items["valonly"]:
        from pipeline.studies.search import row_configs

        configs = [len(row_configs(p.datasets[i["dataset"]], st.search, st.rows[i["row"]]))
                   for i in items["sweep"].values()]
        click.echo(f"  + declared datasets: {len(configs)} dataset × row searches of {sum(configs)} configs in all "
                   f"+ {len(st.seeds) - 1} more seeds each = {sum(configs) + len(configs) * (len(st.seeds) - 1)} "
                   "runs at most (grid points outside Eq. 9 are skipped), "
                   f"{len(items['reference'])} reference model(s)"
                   + (f", Table 3: {(st.table3.folds + 1) * len(st.seeds)} runs each" if items["valonly"] else ""))
    else:
        click.echo("  declared datasets (Table 2/3, your own): none in a study — list them under studies.tables")
    for note in notes:
        click.echo(f"  {note}")


def _device_errors(p: object) -> list[str]:
    """What :func:`gerne.device.resolve_device` would refuse when a stage starts (unknown name, absent GPU)."""
    from gerne.device import check_device_name, resolve_device

    errors = []
    try:
        resolve_device(p.train.device, "train.device")
    except GerneError as exc:
        errors.append(str(exc))
    try:
        check_device_name(p.studies.device)
        if any(t.datasets for t in p.studies.tables.values()) or p.studies.table3.datasets:  # only their stages use it
            resolve_device(p.studies.device, "studies.device")
    except ValueError as exc:  # ConfigError is a ValueError too
        errors.append(str(exc) if isinstance(exc, GerneError) else f"studies.device: {exc}")
    return errors


def _beta_checks(p: object, data_root: os.PathLike[str]) -> tuple[list[str], list[str]]:
    """(errors, notes): Eq. 9 for every setting the pipeline trains, on each C-MNIST ratio's prepared data.

    The same shares as the training stage (``pipeline.runs.train.setup_method``): the true groups (attributes:
    known), one group per class (none), the pseudo-groups of ``pseudo.npz`` at the absolute t of that ratio
    (pseudo). Sweep points outside Eq. 9 are not errors: the sweep skips and records them by design.
    """
    from pathlib import Path

    from gerne.core.shares import check_beta, group_shares, plain
    from gerne.data.groups import train_counts_and_shares
    from gerne.errors import ConfigError

    data_root = Path(data_root)
    errors: list[str] = []
    notes: list[str] = []
    figures = p.figures
    for ratio in p.cmnist.ratios:
        data_dir = data_root / "cmnist" / f"r{ratio}"
        trained = {name: "run_settings.known" for name in p.run_settings.known}
        if figures is not None and ratio == figures.ratio:
            trained.update({name: "figures.fig2_settings" for name in figures.fig2_settings if name not in trained})
        if not (data_dir / "metadata.csv").is_file():
            notes.append(f"β (Eq. 9) at {ratio} %: not checked, {data_dir} is not prepared yet; the check runs when "
                         "the stage has the data (each training stage checks β before it trains)")
            continue
        try:
            counts, alpha = train_counts_and_shares(data_dir)
        except GerneError as exc:
            errors.append(str(exc))
            continue
        for name, listed_in in trained.items():
            s = p.settings[name]
            shares = alpha if s.attributes == "known" else group_shares(counts.sum(axis=1, keepdims=True))
            try:
                check_beta(shares, s.c, s.beta, what=f"{s.attributes} training attributes of cmnist {ratio}%")
            except ConfigError as exc:
                errors.append(f"settings.{name}.beta = {plain(s.beta)} (c = {plain(s.c)}; trained at {ratio} % via "
                              f"{listed_in}) is refused on {data_dir}: {exc}")
        note = f"β (Eq. 9) at {ratio} %: {len(trained)} setting(s) checked on {data_dir}"
        pseudo_file = data_root / "pseudo" / "cmnist" / f"r{ratio}" / "pseudo.npz"
        unknown = list(p.run_settings.unknown)
        if unknown and not pseudo_file.is_file():
            note += (f"; {', '.join(unknown)} (attributes: pseudo) not checked yet: {pseudo_file} is not written yet "
                     "(the pseudo stage derives it)")
        elif unknown:
            found, pending, checked = _pseudo_beta_errors(p, ratio, data_dir, pseudo_file, unknown)
            errors += found
            note += f", {checked} on the pseudo-groups of {pseudo_file}" + "".join(f"; {n}" for n in pending)
        notes.append(note)
    return errors, notes


def _pseudo_beta_errors(p: object, ratio: float, data_dir: os.PathLike[str], pseudo_file: os.PathLike[str],
                        names: list[str]) -> tuple[list[str], list[str], int]:
    """(errors, notes, settings checked) of Eq. 9 on the pseudo-groups (Ã ∈ {0, 1}) of ``pseudo_file``.

    A file from other thresholds or another build is stale, not wrong: the pseudo stage derives it again first.
    """
    import zipfile

    from gerne.core.shares import check_beta, group_shares, plain
    from gerne.data.contract import group_counts, load_metadata
    from gerne.errors import ConfigError

    try:
        meta, K, _ = load_metadata(data_dir)
        y = meta.loc[meta["split"] == "train", "y"].to_numpy()
        with np.load(pseudo_file) as z:
            arrays = {k: z[k] for k in z.files}
    except (GerneError, OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return [f"cannot read {pseudo_file} ({exc}); delete it and rerun the pseudo stage"], [], 0
    absolute = p.for_ratio(ratio)  # t as the absolute share the pseudo stage derived at this ratio
    errors, notes, checked = [], [], 0
    for name in names:
        s, t = p.settings[name], float(absolute.settings[name].t)
        key = f"t={t!r}"
        if key not in arrays:
            notes.append(f"{name} not checked yet: {pseudo_file} has no pseudo-attributes for its t = {t} (a file "
                         "from other thresholds; the pseudo stage derives them again before it trains)")
            continue
        a = arrays[key]
        if len(a) != len(y):
            notes.append(f"{name} not checked yet: {pseudo_file} holds {len(a)} pseudo-attributes for {len(y)} "
                         f"training samples (a file from another build; the pseudo stage derives it again)")
            continue
        checked += 1
        try:
            check_beta(group_shares(group_counts(y, a, K, 2)), s.c, s.beta,
                       what=f"pseudo training attributes of cmnist {ratio}%")
        except ConfigError as exc:
            errors.append(f"settings.{name}.beta = {plain(s.beta)} (c = {plain(s.c)}, t = {plain(s.t)}; trained at "
                          f"{ratio} % via run_settings.unknown) is refused on the pseudo-groups of {pseudo_file}: "
                          f"{exc}")
    return errors, notes, checked


@main.command("plan")
@click.option("--params", "params_path", default="params.yaml", show_default=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only check that plan.yaml is current (exit 1 if stale).")
def plan_command(params_path: str, check: bool) -> None:
    """Write plan.yaml, the stage items of the declared datasets' studies, from params.yaml (dvc.yaml reads it)."""
    from pathlib import Path

    from pipeline.config import load_params
    from pipeline.plan import PLAN, check_plan, plan, write_plan

    target = Path(params_path).parent / PLAN
    try:
        p = load_params(params_path)
        if check:
            check_plan(p, target)
            click.echo(f"{target}: current")
            return
        changed = write_plan(p, target)
    except GerneError as exc:
        _fail(exc)
    counts = ", ".join(f"{len(v)} {k}" for k, v in plan(p).items())
    click.echo(f"{'wrote' if changed else 'unchanged:'} {target} ({counts})")


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
    """Open the MLflow UI on the project's tracking store; print each experiment's runs-table link."""
    from gerne.tracking import default_tracking_uri
    from gerne.ui import experiment_links

    uri = default_tracking_uri()
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    click.echo(f"MLflow UI for {uri} on {base}")
    links = experiment_links(uri, base)
    for name, url in links:
        click.echo(f"  {name}: {url}")
    if not links:
        click.echo("  no runs are logged yet: `make repro` (or `dvc repro`) creates them")
    sys.stdout.flush()  # exec drops Python's buffers
    # GenAI job execution (judges, optimisers) is unused here and starts extra processes: off unless set.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    os.execvpe(sys.executable, [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                                "--host", host, "--port", str(port), "--workers", str(workers)], env)


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


@main.command("store-init")
def store_init() -> None:
    """Create the MLflow store and the pipeline's experiments once, before parallel stages or queued experiments."""
    from gerne.store import init_store
    from gerne.tracking import _artifact_root, default_tracking_uri

    uri = default_tracking_uri()
    names = ["cmnist", "benchmarks", *_declared_experiments()]
    ids = init_store(uri, [*names, *(f"{n} (trials)" for n in names)], _artifact_root(uri))  # dvc exp runs: trials
    click.echo(f"MLflow store: {uri}")
    for name, exp_id in ids.items():
        click.echo(f"  {exp_id:>4}  {name}")


@main.command()
@click.option("-n", "--name", default=None, help="The experiment's name (dvc exp show lists it).")
@click.option("-S", "--set-param", "overrides", multiple=True, metavar="KEY=VALUE",
              help="A params.yaml override, as for dvc exp run (repeatable), e.g. -S datasets.mine.lr=1.0e-3.")
@click.option("-C", "--copy-path", "copy_paths", multiple=True, metavar="PATH",
              help="An untracked path the copy needs (e.g. your own data folder), as for dvc exp run (repeatable).")
@click.argument("targets", nargs=-1)
def trial(name: str | None, overrides: tuple[str, ...], copy_paths: tuple[str, ...], targets: tuple[str, ...]) -> None:
    """Run a DVC experiment in a temporary copy with params.yaml overrides, regenerating plan.yaml there when they
    change the stage list (a row, dataset or variant added to a study); the workspace stays as it is."""
    from pathlib import Path

    from pipeline.trial import trial as run_trial

    try:  # the store and its experiments exist before the experiment's stages start
        code = run_trial(Path.cwd(), list(overrides), list(targets), name, before=store_init.callback,
                         copy_paths=copy_paths)
    except GerneError as exc:
        _fail(exc)
    sys.exit(code)
