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
import sys
import tempfile
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
    """``data`` with ``overrides`` applied exactly as ``dvc exp run -S`` applies them: DVC's own Hydra grammar
    (``key.path=value`` sets an existing key, ``+key.path=value`` adds one, ``~key.path`` deletes one; a mapping
    value is merged into the mapping it replaces). ConfigError naming the override and Hydra's hint otherwise."""
    from dvc.exceptions import InvalidArgumentError
    from dvc.utils.hydra import apply_overrides as dvc_apply

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        for item in overrides:  # one at a time, so the error names the one DVC refuses
            try:
                dvc_apply(path, [item])
            except InvalidArgumentError as e:
                why = str(e.__cause__ or e).strip().replace("\n", " ")
                raise ConfigError(f"-S {item!r}: {why} (DVC's override grammar: key.path=value sets a key, "
                                  "+key.path=value adds one, ~key.path deletes one)") from None
        return yaml.safe_load(path.read_text(encoding="utf-8"))


def _tasks(root: Path, status: str) -> list[str]:
    """The DVC queue's tasks in ``status`` (their names, else task ids), from ``dvc queue status``."""
    out = subprocess.run(["dvc", "queue", "status"], cwd=root, capture_output=True, text=True, check=False).stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    return [row[1] if len(row) > 4 else row[0] for row in rows if row and row[-1] == status]


def _queued(root: Path) -> list[str]:
    """Experiments already waiting in the DVC queue (a trial runs the queue, so it would run them too)."""
    return _tasks(root, "Queued")


def _failed(root: Path) -> list[str]:
    return _tasks(root, "Failed")


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
    failed_before = set(_failed(root))
    status = subprocess.run(["dvc", "exp", "run", "--run-all"], cwd=root, check=False).returncode
    failed = [n for n in _failed(root) if n not in failed_before]
    if failed:  # `dvc exp run --run-all` exits 0 when a queued experiment fails
        print(f"error: the trial's experiment {', '.join(failed)} failed: `dvc queue logs {failed[0]}` shows why",
              file=sys.stderr)
        return status or 1
    return status
