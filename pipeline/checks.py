"""What the stages refuse beyond the params schema, checked before anything starts (``gerne validate`` and
``gerne trial``): the device, the folders of your own datasets, β of every one-config row against Eq. 9 on the data
already prepared."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
            errors.append(f"datasets.{item['base']}.root: the folder {folder} does not exist; prepare@{name} reads "
                          f"your data in place from it: put metadata.csv and the files its `filename` column names "
                          f"there, or set root to the folder that holds them (relative to {Path(params_dir)})")
        elif not table.is_file():
            errors.append(f"datasets.{item['base']}.root: {table} is missing; kind own needs the table (id, filename, "
                          "split, y[, a]) in its root folder: add it, or name it with prepare: {metadata: <file>}")
    return errors


def stage_checks(p: Params, params_dir: Path, data_root: Path) -> tuple[list[str], list[str]]:
    """(errors, notes) of what the stages of ``p`` would refuse: the device, own data folders (relative to
    ``params_dir``), β outside Eq. 9 on the data prepared under ``data_root`` (notes: what is not checked yet)."""
    from pipeline.cli import _beta_checks, _device_errors  # `gerne validate`'s checks, shared with `gerne trial`

    errors = _device_errors(p) + source_errors(p, params_dir)
    beta_errors, notes = _beta_checks(p, data_root)
    return errors + beta_errors, notes
