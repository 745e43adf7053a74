"""What the stages refuse beyond the params schema, checked before anything starts (``gerne validate``, which
``make repro`` runs first): the device, the folders of your own datasets, β of every one-config row against Eq. 9 on
the data already prepared."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from gerne.errors import GerneError

if TYPE_CHECKING:
    from pipeline.config import Params


def source_errors(p: Params, params_dir: Path) -> list[str]:
    """The folder of each own dataset a study uses (kind own: read in place, a dependency of its prepare stage,
    which DVC refuses when it is missing) and the table in it; ``root`` is relative to ``params_dir``."""
    from gerne.data.registry import get_dataset
    from pipeline.plan import plan

    errors, seen = [], set()
    for name, item in plan(p)["prepare"].items():
        d = p.datasets[name]
        if not get_dataset(d.kind).read_in_place:
            continue
        folder = Path(params_dir) / item["raw"]
        table = folder / d.prepare.get("metadata", "metadata.csv")
        if (folder, table) in seen:
            continue
        seen.add((folder, table))
        if not folder.is_dir():
            errors.append(f"datasets.{item['base']}.root: the folder {folder} does not exist; the data stage reads "
                          f"your data in place from it: put metadata.csv and the files its `filename` column names "
                          f"there, or set root to the folder that holds them (relative to {Path(params_dir)})")
        elif not table.is_file():
            errors.append(f"datasets.{item['base']}.root: {table} is missing; kind own needs the table (id, filename, "
                          "split, y[, a]) in its root folder: add it, or name it with prepare: {metadata: <file>}")
    return errors


def stage_checks(p: Params, params_dir: Path, data_root: Path) -> tuple[list[str], list[str]]:
    """(errors, notes) of what the stages of ``p`` would refuse: the device, own data folders (relative to
    ``params_dir``), β outside Eq. 9 on the data prepared under ``data_root`` (notes: what is not checked yet)."""
    errors = device_errors(p) + source_errors(p, params_dir)
    beta_errors, notes = beta_checks(p, data_root)
    return errors + beta_errors, notes


def device_errors(p: Params) -> list[str]:
    """What :func:`gerne.device.resolve_device` would refuse when a stage starts (unknown name, absent GPU)."""
    from gerne.device import check_device_name, resolve_device

    errors = []
    try:
        check_device_name(p.studies.device)
        if any(t.datasets for t in p.studies.tables.values()) or p.studies.table3.datasets:  # only their stages use it
            resolve_device(p.studies.device, "studies.device")
    except ValueError as exc:  # ConfigError is a ValueError too
        errors.append(str(exc) if isinstance(exc, GerneError) else f"studies.device: {exc}")
    return errors


def beta_checks(p: Params, data_root: os.PathLike[str]) -> tuple[list[str], list[str]]:
    """(errors, notes): Eq. 9 for every row with one config (the plan's ``train`` items) on its dataset's prepared data.

    The same groups as the training stage (``pipeline.studies.runs.grouped_method``): the true groups (known), one
    group per class (none), the pseudo-groups of the scores file at the row's absolute t (confidence). Search
    configs outside Eq. 9 are not errors: a grid search skips and records them by design. Prepared data that break
    the dataset contract (stale, or inconsistent) are an error naming the command that fixes it.
    """
    from pathlib import Path

    from gerne.data.groups import train_counts_and_shares
    from gerne.errors import PreparedDataError
    from gerne.methods import METHODS
    from pipeline.plan import plan

    data_root, errors, notes = Path(data_root), [], []
    items = plan(p)
    by_dataset: dict[str, list[dict]] = {}
    for item in items["train"].values():
        by_dataset.setdefault(item["dataset"], []).append(item)
    for dataset, trains in by_dataset.items():
        data_dir = data_root / Path(trains[0]["data"]).relative_to("data")
        if not (data_dir / "metadata.csv").is_file():
            notes.append(f"β (Eq. 9) on {dataset}: not checked, {data_dir} is not prepared yet; the check runs when "
                         "the stage has the data (each training stage checks β before it trains)")
            continue
        try:
            counts, alpha = train_counts_and_shares(data_dir)
        except PreparedDataError as exc:  # prepared by older code or from raw files fixed since: prepare it again
            errors.append(exc.for_dataset(dataset))
            continue
        except GerneError as exc:
            errors.append(str(exc))
            continue
        scores = data_root.parent / items["scores"][dataset]["scores"] if dataset in items["scores"] else None
        checked, pending = 0, []
        for item in trains:
            if not METHODS[p.studies.rows[item["row"]].method].uses_beta:
                continue  # β means nothing to it
            found, note = _row_beta_error(p, dataset, item["row"], counts, alpha, data_dir, scores)
            errors += found
            checked += note is None
            pending += [note] if note else []
        notes.append(f"β (Eq. 9) on {dataset}: {checked} row(s) checked on {data_dir}"
                     + "".join(f"; {n}" for n in pending))
    return errors, notes


def _row_beta_error(p: Params, dataset: str, row: str, counts: np.ndarray, alpha: np.ndarray,
                    data_dir: os.PathLike[str], scores: os.PathLike[str] | None) -> tuple[list[str], str | None]:
    """([error] or [], None when checked or a note why not) for one row's config on its training groups."""
    import zipfile

    from gerne.core.shares import check_beta, group_shares, plain
    from gerne.data.contract import group_counts, load_metadata
    from gerne.errors import ConfigError
    from pipeline.studies.search import row_configs

    d, spec = p.datasets[dataset], p.studies.rows[row]
    groups = spec.grouping
    (cfg,) = row_configs(d, p.studies.search, spec)
    if "beta" not in cfg:
        return [], None
    shares = alpha if groups.true_attributes else group_shares(counts.sum(axis=1, keepdims=True))
    where = f"the {spec.groups} training groups of {dataset}"
    if groups.share is not None:  # pseudo-groups at a share t: the scores stage stores them per t
        t = d.absolute_t(cfg[groups.share])
        if scores is None or not os.path.isfile(scores):
            return [], f"{row} not checked yet: {scores} is not written yet (the scores stage derives it)"
        try:
            meta, k, _ = load_metadata(data_dir)
            y = meta.loc[meta["split"] == "train", "y"].to_numpy()
            with np.load(scores) as z:
                a = z[f"t={t!r}"] if f"t={t!r}" in z.files else None
        except (GerneError, OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            return [f"cannot read {scores} ({exc}); delete it and rerun the scores stage"], None
        if a is None or len(a) != len(y):
            return [], (f"{row} not checked yet: {scores} has no pseudo-attributes for t = {t} of this build (the "
                        "scores stage derives them again before it trains)")
        shares, where = group_shares(group_counts(y, a, k, 2)), f"the pseudo-groups (t = {plain(t)}) of {scores}"
    try:
        check_beta(shares, cfg["c"], cfg["beta"], what=f"{spec.groups} training attributes of {dataset}")
    except ConfigError as exc:
        head = f"studies.rows.{row}: beta = {plain(cfg['beta'])} (c = {plain(cfg['c'])}; trained on {dataset}) is"
        if not spec.beyond_eq9_bound:
            return [f"{head} refused on {where}: {exc}"], None
        click.echo(f"WARNING: {head} outside Eq. 9 on {where} and trained anyway: beyond_eq9_bound: true, for Fig. "
                   f"2's divergence demo only (any other row is refused: {exc})", err=True)
    return [], None
