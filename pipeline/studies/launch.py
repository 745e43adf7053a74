"""Where a stage's runs train: one stack after another in the stage's own process (``serial``, the default) or as
Ray Core tasks spread over a machine's cores and GPUs or over a cluster (``ray``; ``pip install -e '.[pipeline,ray]'``).

The DVC stage stays the unit of caching and of resume. It decides which runs still need training (finished
summaries are reused before anything is launched) and cuts them into stacks. The launcher trains each stack, a task
each for Ray, and writes each run's summary as its stack returns. So a killed stage or a crashed task keeps every
finished run, and the rerun trains the missing ones only. A task reads the prepared data and the reference file
from their paths (every node sees the repository at the same path, as DVC needs) and sends its summaries back.
Results do not depend on the launcher: the same runs, seeds and summaries (only run ids and timings differ) when
the runs train on as many torch threads (each summary's ``torch_threads``): a task trains on ``num_cpus``, a serial
stage on its process's. ``params.yaml``'s ``launch`` section is therefore no stage's dependency: switching it retrains
nothing.

A stage fails fast, before it writes anything, when the cluster it names does not answer gRPC (:func:`check_cluster`),
and SIGTERM or Ctrl-C stops it while it waits on tasks: they are cancelled (``ray.cancel`` raises KeyboardInterrupt
in each, so their MLflow runs end KILLED, as in a serial stage) before the stage exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tqdm.auto import tqdm

from gerne.errors import ConfigError, GerneError
from gerne.io import write_json
from gerne.tracking import TRACKING_ENV, interrupt
from pipeline.schema import Index, NonNegativeReal, PositiveReal, Strict

log = logging.getLogger(__name__)
PASSED_ENV = (TRACKING_ENV, "DVC_ROOT", "DVC_STAGE", "DVC_EXP_NAME", "GERNE_MALLOC_TUNING")  # to every task
CONNECT_TIMEOUT_S = 5.0  # a named cluster's address must accept a connection within this
H2_PREFACE, SETTINGS = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 4  # HTTP/2 (gRPC) connection preface, SETTINGS type
POLL_S = 0.5  # how often the stage looks for finished tasks (it sleeps in between: SIGTERM and Ctrl-C land there)
CANCEL_GRACE_S = 10.0  # how long cancelled tasks get to close their MLflow runs as KILLED before the stage exits


class LaunchParams(Strict):
    """``params.yaml``'s ``launch``: where runs train (not a stage dependency: results do not depend on it)."""

    launcher: Literal["serial", "ray"] = "serial"
    num_cpus: PositiveReal = Field(1.0, description="Ray: CPUs per task (its torch threads)")
    num_gpus: NonNegativeReal = Field(0.0, description="Ray: GPUs per task; 0.25 packs four tasks on one GPU")
    address: str = Field("", description="Ray: '' = $RAY_ADDRESS or a new local cluster; 'auto' or host:port (a "
                                          "running cluster; checked before the stage starts)")
    max_retries: Index = Field(0, description="Ray: retries of a task whose worker died")
    object_store_memory: Index = Field(0, description="Ray: object store bytes of a new local cluster; 0 = Ray's")


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


def _cancelled(_signum: int, _frame: object) -> None:
    """``ray.cancel`` interrupts a running task like Ctrl-C: raised between MLflow store writes, so its runs end
    KILLED."""
    interrupt(KeyboardInterrupt("the stage cancelled this task"))


def in_task(work: StackWork, stack: list[Any], threads: int) -> list[dict[str, Any]]:
    """A Ray task's body: train ``stack`` on ``threads`` torch threads, its summaries written to a private folder,
    and return them."""
    import torch

    torch.set_num_threads(threads)
    main = threading.current_thread() is threading.main_thread()  # where Ray runs a task, and signals go
    previous = signal.signal(signal.SIGINT, _cancelled) if main else None
    try:
        with tempfile.TemporaryDirectory(prefix="gerne-task-") as tmp:
            local = [replace(job, out_path=Path(tmp) / f"run{i}.json") for i, job in enumerate(stack)]
            return work.train(local)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("launch.launcher: ray needs Ray; install it with `pip install -e '.[pipeline,ray]'` (or set "
                          "launch.launcher: serial)") from exc
    return ray


def cluster_address(cfg: LaunchParams) -> tuple[str, str] | None:
    """The running cluster a Ray stage attaches to and where it is named (``launch.address`` or ``$RAY_ADDRESS``);
    None for a new local cluster."""
    for address, source in ((cfg.address, "launch.address"), (os.environ.get("RAY_ADDRESS", ""), "$RAY_ADDRESS")):
        if address:
            return (address, source) if address != "local" else None
    return None


def _fix(source: str) -> str:
    unset = " and unset RAY_ADDRESS" if source == "$RAY_ADDRESS" else ""
    return (f"start the cluster first (`ray start --head` on its head node, then set {source} to the address it "
            f"prints), or set launch.address to \"\"{unset} for a new local cluster")


def _host_port(address: str, source: str) -> tuple[str, int]:
    """Where ``ray.init(address)`` connects: Ray's own reading of the address (``auto``, localhost), else
    ``host:port`` as written (``ray://host:port``: Ray Client)."""
    target = address.split("://", 1)[1] if "://" in address else address
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # a Ray without it: the address as written
        canonicalize_bootstrap_address = None
    if "://" not in address and canonicalize_bootstrap_address is not None:
        try:
            target = canonicalize_bootstrap_address(address) or target
        except ConnectionError as exc:
            raise ConfigError(f"{source} is {address!r}, but no running Ray cluster was found ({exc}); "
                              f"{_fix(source)}") from exc
        except ValueError:
            pass  # reported below
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{source} is {address!r}: not a Ray cluster address; write host:port (the head node's "
                          f"GCS port, 6379 by default) or 'auto', or set launch.address to \"\" for a new local "
                          f"cluster")
    return host.strip("[]"), int(port)


def check_cluster(cfg: LaunchParams) -> None:
    """For ``launch.launcher: ray`` naming a running cluster: ConfigError within :data:`CONNECT_TIMEOUT_S` when
    nothing answers at its address, or something that does not speak gRPC (``ray.init`` would retry for many
    minutes). A stage calls it before it writes anything."""
    if cfg.launcher != "ray" or (named := cluster_address(cfg)) is None:
        return
    _import_ray()
    address, source = named
    host, port = _host_port(address, source)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as sock:
            grpc = _speaks_grpc(sock)
    except OSError as exc:
        reason = (f"no answer within {CONNECT_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError)
                  else (exc.strerror or str(exc)).lower())
        raise ConfigError(f"{source} is {address!r}, but no Ray cluster answers at {host}:{port} ({reason}); "
                          f"{_fix(source)}") from exc
    if not grpc:
        raise ConfigError(f"{source} is {address!r}: something listens at {host}:{port}, but it does not speak gRPC "
                          f"(Ray's protocol), so it is no Ray head node's GCS port; check the port (6379 by default, "
                          f"as `ray start --head` prints it), or {_fix(source)}")


def _speaks_grpc(sock: socket.socket) -> bool:
    """Whether the server on ``sock`` answers HTTP/2's client preface with its own SETTINGS frame, as every gRPC
    server (Ray's GCS and Ray Client among them) does (RFC 9113, 3.4); a web server, a database or a silent port
    does not, within :data:`CONNECT_TIMEOUT_S`."""
    sock.sendall(H2_PREFACE + bytes([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]))  # the preface, then an empty SETTINGS
    head = b""
    try:
        while len(head) < 9:  # a frame header: 3 bytes length, 1 type, 1 flags, 4 stream id
            chunk = sock.recv(9 - len(head))
            if not chunk:
                return False
            head += chunk
    except (TimeoutError, ConnectionError):
        return False
    return head[3] == SETTINGS and head[5:9] == bytes(4)


def ray_session(cfg: LaunchParams) -> Any:
    """Ray, initialised once per process: attached to ``address`` (or ``$RAY_ADDRESS``; checked first by
    :func:`check_cluster`), else a new local cluster (shut down when the process exits). A session someone else
    opened (a test, a notebook) is used as it is. The stage's SIGTERM handler survives ``ray.init``."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    check_cluster(cfg)
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": True, "include_dashboard": False}
    named = cluster_address(cfg)
    if named is None and cfg.object_store_memory:
        kwargs["object_store_memory"] = cfg.object_store_memory
    main = threading.current_thread() is threading.main_thread()
    on_term = signal.getsignal(signal.SIGTERM) if main else None
    try:  # "local": a new cluster even where `ray start` left one behind (Ray's None would attach to it)
        ray.init(address="local" if named is None else named[0], **kwargs)
    except ConnectionError as exc:  # it answered, but is no Ray cluster (or refused this driver)
        source = named[1] if named else "launch.address"
        raise ConfigError(f"{source}: {exc}; {_fix(source)}") from exc
    finally:
        if callable(on_term):  # ray.init replaces it with sys.exit, which would skip closing the runs as KILLED
            signal.signal(signal.SIGTERM, on_term)
    atexit.register(ray.shutdown)
    return ray


def _finished(ray: Any, refs: list[Any]) -> list[Any]:
    """The finished tasks of ``refs``, without blocking: a signal arriving inside a blocking ``ray.wait`` turns into
    a bare KeyboardInterrupt, so the stage could not tell SIGTERM from Ctrl-C."""
    return ray.wait(refs, num_returns=len(refs), timeout=0)[0]


def _stop(ray: Any, pending: dict[Any, list[Any]], desc: str) -> None:
    """Cancel the tasks still ``pending`` (SIGTERM, Ctrl-C or an error in the stage) and give the running ones
    :data:`CANCEL_GRACE_S` to close their MLflow runs as KILLED."""
    refs = list(pending)
    if not refs:
        return
    log.warning("%s: cancelling %d task(s); their runs end KILLED and train again when the stage reruns", desc,
                len(refs))
    try:
        for ref in refs:
            ray.cancel(ref)
        deadline = time.monotonic() + CANCEL_GRACE_S
        while len(_finished(ray, refs)) < len(refs) and time.monotonic() < deadline:
            time.sleep(0.1)
    except ray.exceptions.RayError as exc:  # the cluster is gone too: nothing left to cancel
        log.warning("%s: could not cancel the tasks: %s", desc, exc)


def ray_tasks(cfg: LaunchParams, work: StackWork, stacks: list[list[Any]]) -> None:
    """Every stack a Ray task with ``num_cpus`` / ``num_gpus``; summaries written as tasks return (``ray.wait``)."""
    ray = ray_session(cfg)
    task = ray.remote(in_task).options(num_cpus=cfg.num_cpus, num_gpus=cfg.num_gpus,
                                       max_retries=cfg.max_retries, name=f"gerne:{work.desc}")
    shared = ray.put(work)
    threads = max(1, int(cfg.num_cpus))
    pending = {task.remote(shared, stack, threads): stack for stack in stacks}
    bar, failed = _progress(work, stacks), []
    try:
        while pending:
            if not (ready := _finished(ray, list(pending))):
                time.sleep(POLL_S)
            for ref in ready:
                stack = pending.pop(ref)
                try:
                    _write(stack, ray.get(ref))
                except (ray.exceptions.RayError, GerneError) as exc:
                    failed.append((stack, exc))
                    log.error("%s: a task of %d run(s) failed: %s", work.desc, len(stack), exc)
                bar.update(len(stack))
    except BaseException:  # SIGTERM or Ctrl-C (the stage raises them here), or a summary that cannot be written
        _stop(ray, pending, work.desc)
        raise
    finally:
        bar.close()
    if failed:
        names = ", ".join(job.name for stack, _ in failed for job in stack)
        raise GerneError(f"{work.desc}: {len(failed)} of {len(stacks)} task(s) failed ({names}); every other "
                         f"run's summary is written, so rerunning the stage trains the missing runs only. "
                         f"First error: {failed[0][1]}")


LAUNCHERS: dict[str, Callable[[LaunchParams, StackWork, list[list[Any]]], None]] = {
    "serial": serial, "ray": ray_tasks}
