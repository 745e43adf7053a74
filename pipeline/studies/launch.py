"""Where a stage's runs train: one stack after another in the stage's own process (``serial``, the default) or as
Ray Core tasks spread over a machine's cores and GPUs or over a cluster (``ray``; ``pip install -e '.[ray]'``).

The DVC stage stays the unit of caching and of resume. It decides which runs still need training (finished
summaries are reused before anything is launched) and cuts them into stacks. The launcher trains each stack, a task
each for Ray, and writes each run's summary as its stack returns. So a killed stage or a crashed task keeps every
finished run, and the rerun trains the missing ones only. A task reads the prepared data and the reference file
from their paths (every node sees the repository at the same path, as DVC needs) and sends its summaries back.
Results do not depend on the launcher: the same runs, seeds and summaries (only run ids and timings differ).
``params.yaml``'s ``launch`` section is therefore no stage's dependency: switching it retrains nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tqdm.auto import tqdm

from gerne.errors import ConfigError, GerneError
from gerne.io import write_json
from gerne.tracking import TRACKING_ENV
from pipeline.schema import Strict

log = logging.getLogger(__name__)
PASSED_ENV = (TRACKING_ENV, "DVC_ROOT", "DVC_STAGE", "DVC_EXP_NAME", "GERNE_MALLOC_TUNING")  # to every task


class LaunchParams(Strict):
    """``params.yaml``'s ``launch``: where runs train (not a stage dependency: results do not depend on it)."""

    launcher: Literal["serial", "ray"] = "serial"
    num_cpus: float = Field(1.0, gt=0, description="Ray: CPUs per task (its torch threads)")
    num_gpus: float = Field(0.0, ge=0, description="Ray: GPUs per task; 0.25 packs four tasks on one GPU")
    address: str = Field("", description="Ray: '' = $RAY_ADDRESS or a new local cluster; 'auto' or host:port")
    max_retries: int = Field(0, ge=0, description="Ray: retries of a task whose worker died")
    object_store_memory: int = Field(0, ge=0, description="Ray: object store bytes of a new local cluster; 0 = Ray's")


@dataclass(frozen=True)
class StackWork:
    """What one stack of runs needs, anywhere: ``train(jobs)`` trains them, writes each summary to its job's
    ``out_path`` and returns them (picklable: a Ray task receives it once per stage through the object store)."""

    train: Callable[[list[Any]], list[dict[str, Any]]]
    desc: str


def launch(cfg: LaunchParams, work: StackWork, stacks: list[list[Any]]) -> None:
    """Train ``stacks`` (lists of :class:`pipeline.studies.runs.Job`) with the configured launcher, writing each
    job's summary to ``job.out_path`` as its stack returns; a failed stack fails the stage after the others."""
    if not stacks:
        return
    LAUNCHERS[cfg.launcher](cfg, work, stacks)


def _progress(work: StackWork, stacks: list[list[Any]]) -> tqdm:
    total = sum(len(s) for s in stacks)
    return tqdm(total=total, desc=work.desc, unit="run", disable=None if total > 1 else True)


def _write(stack: list[Any], summaries: list[dict[str, Any]]) -> None:
    for job, summary in zip(stack, summaries, strict=True):
        write_json(job.out_path, summary)


def serial(cfg: LaunchParams, work: StackWork, stacks: list[list[Any]]) -> None:
    """One stack after another in this process (the default; ``train`` writes the summaries in place)."""
    bar = _progress(work, stacks)
    for stack in stacks:
        work.train(stack)
        bar.update(len(stack))
    bar.close()


def in_task(work: StackWork, stack: list[Any], threads: int) -> list[dict[str, Any]]:
    """A Ray task's body: train ``stack`` on ``threads`` torch threads, its summaries written to a private folder,
    and return them."""
    import torch

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="gerne-task-") as tmp:
        local = [replace(job, out_path=Path(tmp) / f"run{i}.json") for i, job in enumerate(stack)]
        return work.train(local)


def ray_session(cfg: LaunchParams) -> Any:
    """Ray, initialised once per process: attached to ``address`` (or ``$RAY_ADDRESS``), else a new local cluster
    (shut down when the process exits). A session someone else opened (a test, a notebook) is used as it is."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("launch.launcher: ray needs Ray; install it with `pip install -e '.[ray]'` (or set "
                          "launch.launcher: serial)") from exc
    if ray.is_initialized():
        return ray
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": True, "include_dashboard": False}
    address = cfg.address or os.environ.get("RAY_ADDRESS") or None
    if address is None and cfg.object_store_memory:
        kwargs["object_store_memory"] = cfg.object_store_memory
    ray.init(address=address, **kwargs)
    atexit.register(ray.shutdown)
    return ray


def ray_tasks(cfg: LaunchParams, work: StackWork, stacks: list[list[Any]]) -> None:
    """Every stack a Ray task with ``num_cpus`` / ``num_gpus``; summaries written as tasks return (``ray.wait``)."""
    ray = ray_session(cfg)
    task = ray.remote(in_task).options(num_cpus=cfg.num_cpus, num_gpus=cfg.num_gpus,
                                       max_retries=cfg.max_retries, name=f"gerne:{work.desc}")
    shared = ray.put(work)
    threads = max(1, int(cfg.num_cpus))
    pending = {task.remote(shared, stack, threads): stack for stack in stacks}
    bar, failed = _progress(work, stacks), []
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        stack = pending.pop(ref)
        try:
            _write(stack, ray.get(ref))
        except (ray.exceptions.RayError, GerneError) as exc:
            failed.append((stack, exc))
            log.error("%s: a task of %d run(s) failed: %s", work.desc, len(stack), exc)
        bar.update(len(stack))
    bar.close()
    if failed:
        names = ", ".join(job.name for stack, _ in failed for job in stack)
        raise GerneError(f"{work.desc}: {len(failed)} of {len(stacks)} task(s) failed ({names}); every other "
                           f"run's summary is written, so rerunning the stage trains the missing runs only. "
                           f"First error: {failed[0][1]}")


LAUNCHERS: dict[str, Callable[[LaunchParams, StackWork, list[list[Any]]], None]] = {
    "serial": serial, "ray": ray_tasks}
