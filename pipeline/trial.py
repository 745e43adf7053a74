"""``gerne trial``: a DVC experiment in a temporary copy, also for changes that alter the stage list.

``dvc exp run --temp -S key=value`` applies the overrides to the copy's ``params.yaml``, but dvc.yaml reads the
declared datasets' stage list from ``plan.yaml``, which DVC does not regenerate: a trial that adds a row, a dataset
or a variant to a study would be refused there as a stale plan. A trial here checks the overrides first, as
``gerne validate`` does (nothing starts on a value a stage would refuse), and when they change the plan it queues the
experiment with the new ``plan.yaml`` in the workspace for the instant DVC takes its snapshot, puts the committed one
back, and runs the queue. The workspace, ``params.yaml``, ``plan.yaml`` and every committed result stay as they were;
``dvc exp show`` lists the trial and MLflow files its runs under ``"<dataset> (trials)"``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gerne.errors import ConfigError
from gerne.io import write_text
from pipeline.checks import stage_checks
from pipeline.config import parse_params
from pipeline.plan import PLAN, render, same_stages


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``data`` with each ``key.path=value`` of ``overrides`` set (values parsed as YAML, as ``dvc exp run -S``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"-S {item!r}: write key.path=value, e.g. -S datasets.mine.lr=1.0e-3")
        *parents, last = key.split(".")
        node = data
        for i, part in enumerate(parents):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"-S {item!r}: {'.'.join(parents[: i + 1])} is not a section of params.yaml")
        node[last] = yaml.safe_load(raw)
    return data


def _queued(root: Path) -> list[str]:
    """Experiments already waiting in the DVC queue (a trial runs the queue, so it would run them too)."""
    out = subprocess.run(["dvc", "queue", "status"], cwd=root, capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[-1] == "Queued"]


def planned(root: Path, overrides: list[str]) -> tuple[str, bool]:
    """The plan.yaml text of ``root``'s params with ``overrides``, and whether it differs from the file there
    (the trial then changes the stage list). ConfigError for overrides the stages would refuse: the schema, and
    what ``gerne validate`` checks beyond it (the device, own data folders, β against Eq. 9 on ``root/data``)."""
    params_path, plan_path = root / "params.yaml", root / PLAN
    data = apply_overrides(yaml.safe_load(params_path.read_text(encoding="utf-8")), overrides)
    source = f"{params_path} with {' '.join(overrides) or 'no overrides'}"
    p = parse_params(data, source)
    errors, _ = stage_checks(p, root, root / "data")
    if errors:
        raise ConfigError(f"{source}: {len(errors)} problem(s) the stages would refuse; nothing was started:\n"
                          + "\n".join(f"  - {e}" for e in errors))
    if same_stages(p, plan_path):
        return plan_path.read_text(encoding="utf-8"), False
    return render(p), True


def trial(root: Path, overrides: list[str], targets: list[str], name: str | None,
          before: Callable[[], None] = lambda: None, copy_paths: tuple[str, ...] = ()) -> int:
    """Run the trial (``before`` once the overrides are valid: e.g. create the MLflow store); DVC's exit status.
    ConfigError, with nothing started, for overrides the stages would refuse."""
    plan_path = root / PLAN
    text, changed = planned(root, overrides)
    before()
    args = [*(["-n", name] if name else []), *(a for o in overrides for a in ("-S", o)),
            *(a for c in copy_paths for a in ("-C", c)), *targets]
    if not changed:
        return subprocess.run(["dvc", "exp", "run", "--temp", *args], cwd=root, check=False).returncode
    committed = plan_path.read_bytes() if plan_path.is_file() else None
    waiting = _queued(root)
    if waiting:
        raise ConfigError(f"this trial changes the stage list, so it runs through the DVC queue, which already "
                          f"holds {waiting}: run them (dvc exp run --run-all) or drop them (dvc queue remove "
                          "--queued) first")
    try:
        write_text(plan_path, text)  # only until DVC has taken the experiment's snapshot
        queued = subprocess.run(["dvc", "exp", "run", "--queue", *args], cwd=root, check=False).returncode
    finally:
        if committed is None:
            plan_path.unlink(missing_ok=True)
        else:
            write_text(plan_path, committed.decode("utf-8"))
    if queued:
        return queued
    return subprocess.run(["dvc", "exp", "run", "--run-all"], cwd=root, check=False).returncode
