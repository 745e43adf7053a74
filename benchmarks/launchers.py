"""`python -m benchmarks.launchers`: one C-MNIST sweep through the real stage code, serial and on Ray, side by side
→ reports/benchmarks_launchers.md (+ JSON).

CPU arms (the same grid, budget and seeds; each a fresh sweep folder and MLflow store):
- ``serial``: the default launcher, one process with T torch threads (1 task × T threads);
- ``ray``: tasks of ``num_cpus: 1`` (T tasks × 1 thread);
- ``ray, one task at a time``: tasks of ``num_cpus: T`` (1 × T threads, as serial): its excess over serial, per
  task, is what the launcher costs a task (shipping the work, a worker reading the data, returning summaries).
Ray's start (``ray.init`` of a local cluster) and a no-op task's round trip are timed on their own.
With ``--device cuda`` the arms are GPU packing instead: 16 C-MNIST GERNE runs (c 0.5, β 1, seeds 0–15) one at a
time, stacked 8 at a time (``studies.stack_size``), and as Ray tasks at 1, 4 and 8 per GPU (``num_gpus`` 1, 1/4,
1/8), all through the launchers but trained by the library's loop without MLflow (a bare GPU image has none).
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import torch
import yaml

from benchmarks.measure.suite import machine
from gerne import layout
from gerne.io import write_json, write_text
from pipeline.studies.launch import LaunchParams, StackWork, launch

ROW = "gerne_tuned_known"  # Table 1's known-attribute search (its committed grid)
STORE = 512 * 2**20  # Ray's object store for the benchmark's clusters (its default is ~30 % of RAM)


def design(raw: dict[str, Any], epochs: int, device: str, launch_cfg: dict[str, Any]) -> Any:
    """params.yaml with the runs' epochs, device and launcher set."""
    from pipeline.config import parse_params

    data = copy.deepcopy(raw)
    data["datasets"]["cmnist"]["epochs"] = epochs
    data["studies"].update(device=device, stack_size=1)
    data["launch"] = launch_cfg
    return parse_params(data)


def timed(p: Any, data_dir: str) -> tuple[float, int]:
    """Seconds of one sweep through the stage code into fresh folders and store, and the runs it trained."""
    from pipeline.studies import stages

    with tempfile.TemporaryDirectory(prefix="bench-launch-") as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        start = time.perf_counter()
        stages.search(p, "cmnist", ROW, data_dir, Path(tmp) / "sweep", Path(tmp) / "runs")
        seconds = time.perf_counter() - start
        # trained: every point, and the winner's other seeds (its search-seed summary is the point's, copied)
        points, seeds = (Path(tmp) / "sweep").glob(f"*/{layout.SUMMARY_GLOB}"), layout.summaries(Path(tmp) / "runs")
        runs = len(list(points)) + len(list(seeds)) - 1
    return seconds, runs


@dataclass
class Seed:
    """A GPU-packing job: a seed and where the launcher writes its (empty) summary."""

    seed: int
    out_path: Path
    name: str


@dataclass
class PackedGerne:
    """Trains a stack of C-MNIST GERNE runs (c 0.5, β 1) with the library's loop, untracked."""

    data_dir: str
    device: str
    epochs: int

    def __call__(self, jobs: list[Seed]) -> list[dict[str, Any]]:
        from benchmarks.measure.timing import _stack
        from gerne.device import resolve_device
        from gerne.train.loop import LoopConfig, fit_stack
        from pipeline.runs.common import load_splits

        splits = load_splits(self.data_dir, resolve_device(self.device, "--device"))
        models, methods = _stack(splits["train"], [j.seed for j in jobs], 0.5, 1.0, False, [100, 100, 100])
        cfgs = [LoopConfig(epochs=self.epochs, lr=0.1, seed=j.seed, evaluate_train=False) for j in jobs]
        results = fit_stack(models, methods, {k: splits[k] for k in ("train", "val", "test")}, cfgs, desc="pack")
        summaries = [{"seed": j.seed, "test_gba": r.selections["last"]["metrics"]["test_gba"]}
                     for j, r in zip(jobs, results, strict=True)]
        for job, summary in zip(jobs, summaries, strict=True):
            write_json(job.out_path, summary)
        return summaries


def packed(data_dir: str, device: str, epochs: int, launch_cfg: dict[str, Any], stack: int,
           runs: int = 16) -> tuple[float, int]:
    """Seconds of ``runs`` GERNE runs through the launcher ``launch_cfg`` in stacks of ``stack``."""
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as tmp:
        jobs = [Seed(s, layout.summary(tmp, s), f"pack-s{s}") for s in range(runs)]
        start = time.perf_counter()
        launch(LaunchParams(**launch_cfg), StackWork(PackedGerne(data_dir, device, epochs), "pack"),
               [jobs[i : i + stack] for i in range(0, runs, stack)])
        return time.perf_counter() - start, len(layout.summaries(tmp))


def ray_costs(repeat: int) -> dict[str, float]:
    """Median seconds of a local cluster's start and of a no-op task's round trip."""
    import ray

    starts, trips = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        ray.init(include_dashboard=False, object_store_memory=STORE)
        starts.append(time.perf_counter() - t)
        noop = ray.remote(lambda: None)
        ray.get(noop.remote())  # a worker started
        for _ in range(20):
            t = time.perf_counter()
            ray.get(noop.remote())
            trips.append(time.perf_counter() - t)
        ray.shutdown()
    return {"ray_init_s": statistics.median(starts), "task_round_trip_s": statistics.median(trips)}


def arms(threads: int, gpu: bool) -> list[tuple[str, dict[str, Any], int]]:
    """(label, launch section, stack size) of each arm."""
    ray = {"launcher": "ray", "object_store_memory": STORE}
    if gpu:
        return [("serial, one run at a time", {}, 1), ("serial, 8 stacked", {}, 8),
                *((f"ray, {k} task(s) per GPU", {**ray, "num_cpus": 1.0, "num_gpus": 1 / k}, 1) for k in (1, 4, 8))]
    return [(f"serial (1 × {threads} threads)", {}, 1),
            (f"ray ({threads} tasks × 1 thread)", {**ray, "num_cpus": 1.0}, 1),
            (f"ray, one task at a time (1 × {threads} threads)", {**ray, "num_cpus": float(threads)}, 1)]


def to_markdown(r: dict[str, Any]) -> str:
    lines = ["# Launchers: serial against Ray", "",
             f"Measured on {r['machine']} by `python -m benchmarks.launchers` ({r['workload']}, {r['epochs']} epochs "
             "a run, each arm in fresh folders with its own MLflow store, through `pipeline.studies.stages`). "
             "Wall time includes starting Ray's local cluster for the Ray arms.", "",
             "| arm | runs | wall s | s per run | runs/hour | vs first arm |", "|---|---:|---:|---:|---:|---:|"]
    first = r["arms"][0]["seconds"]
    for a in r["arms"]:
        lines.append(f"| {a['arm']} | {a['runs']} | {a['seconds']:.1f} | {a['seconds'] / a['runs']:.2f} | "
                     f"{3600 * a['runs'] / a['seconds']:.0f} | {first / a['seconds']:.2f}× |")
    lines += ["", f"Ray's local cluster starts in {r['ray_init_s']:.1f} s; a no-op task's round trip takes "
              f"{1000 * r['task_round_trip_s']:.1f} ms."]
    if "per_task_overhead_s" in r:
        lines.append(f"Per task, Ray one task at a time costs {r['per_task_overhead_s']:.2f} s over serial "
                     "(the same threads; its cluster start taken out).")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--data", "data_dir", default="data/cmnist/r0.5", show_default=True,
              type=click.Path(file_okay=False, exists=True))
@click.option("--epochs", default=6, show_default=True, type=int, help="Epochs per run (the protocol trains 65).")
@click.option("--device", default="cpu", show_default=True, help="cpu: the sweep arms; cuda: GPU packing.")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--out", default="reports/benchmarks_launchers.md", show_default=True)
@click.option("--json", "json_path", default="metrics/benchmarks_launchers.json", show_default=True)
def main(data_dir: str, epochs: int, device: str, params_path: str, out: str, json_path: str) -> None:
    """Time one sweep serial and on Ray (or GPU packing), print and write the table."""
    raw, gpu = yaml.safe_load(Path(params_path).read_text()), device.startswith("cuda")
    threads = torch.get_num_threads()
    result: dict[str, Any] = {"machine": machine(), "epochs": epochs, "device": device, "threads": threads,
                              "workload": "16 GERNE runs (GPU packing)" if gpu else f"the {ROW} sweep",
                              **ray_costs(3), "arms": []}
    for label, launch_cfg, stack in arms(threads, gpu):
        if gpu:
            seconds, runs = packed(data_dir, device, epochs, launch_cfg, stack)
        else:
            seconds, runs = timed(design(raw, epochs, device, launch_cfg), data_dir)
        result["arms"].append({"arm": label, "launch": launch_cfg, "stack_size": stack, "seconds": seconds,
                               "runs": runs})
        if launch_cfg:  # each Ray arm starts (and pays for) its own local cluster
            import ray

            ray.shutdown()
        click.echo(f"{label}: {runs} runs in {seconds:.1f} s")
    if not gpu:
        serial, _, one = result["arms"]
        result["per_task_overhead_s"] = (one["seconds"] - result["ray_init_s"] - serial["seconds"]) / one["runs"]
    text = to_markdown(result)
    click.echo(text)
    write_json(json_path, result)
    write_text(out, text)


if __name__ == "__main__":
    main()
