"""The benchmark suite: every number of ``reports/benchmarks.md``, measured side by side in one process."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.measure.image import image_rates, image_rows
from benchmarks.measure.naive import naive_epoch_seconds
from benchmarks.measure.sync import step_host_syncs
from benchmarks.measure.timing import (
    data_path_images_per_second,
    epoch_seconds,
    faults_per_epoch,
    floor_seconds,
    linear_shapes,
    plain_epoch_seconds,
    step_phase_ms,
)
from gerne.data.contract import load_tensor_dataset
from gerne.models import build_model
from gerne.system import allocations_kept, keep_large_allocations
from gerne.train.loop import steps_for

MEASURED_BY = {"cpu": "`make bench` (`python -m benchmarks.run`, DVC stage `benchmark`)",
               "cuda": "`bash benchmarks/device.sh` (one call of the GPU machine; DVC stage `benchmark_gpu` renders "
                       "its JSON)"}

GPU_NOTES = [
    "On a GPU the C-MNIST MLP is launch-bound: a step's few dozen small kernels take longer to launch than to run,",
    "so its floor ratio measures launch overhead, and GERNE's second batch costs almost nothing. Stacking runs",
    "(`studies.stack_size`: seeds, and a sweep's points) is the remedy the stacked rows measure; runs/hour and the",
    "column estimate use the fastest stack size. The ResNet-50 rows use random weights with BatchNorm statistics",
    "calibrated on one batch (pretrained weights are not downloadable there); β = −0.5 so that both batches train.",
    "",
]

PLAIN_NOTE = [
    "The framework reference is the textbook step (forward, cross-entropy, `backward()`, `torch.optim.SGD`) on a batch",
    "already in memory as floats: what PyTorch itself costs above the floor, before any sampling or data handling.",
]


def machine() -> str:
    """One line describing the hardware and software the numbers were measured on."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return (f"{cpu}, {os.cpu_count()} logical cores, torch {torch.__version__} with {torch.get_num_threads()} "
            f"threads{gpu}")


def _interleaved(*timers: Callable[[], float], rounds: int) -> list[list[float]]:
    """Each timer's time in each of ``rounds`` rounds, the timers called in turn: a shared machine's slow phases
    hit all alike."""
    times = [[timer() for timer in timers] for _ in range(rounds)]
    return [list(column) for column in zip(*times, strict=True)]


def _round_ratios(ours: list[float], floor: list[float]) -> list[float]:
    """Ours over the floor within each round (measured minutes apart at most): how much the machine's load moves it."""
    return [o / f for o, f in zip(ours, floor, strict=True)]


def _epoch_rows(splits: dict[str, Any], device: torch.device, epochs: int, rounds: int) -> dict[str, Any]:
    """ERM and GERNE epochs against their floors and the framework reference, interleaved over ``rounds``; on a
    CPU with glibc's default allocator settings, GERNE before the setting too."""
    train = splits["train"]

    def mlp() -> torch.nn.Module:
        return build_model("mlp", tuple(train.x.shape[1:]), train.num_classes)

    shapes, rows = linear_shapes(mlp()), train.num_classes * 100
    steps = steps_for(len(train), rows, 0)

    def gerne_epoch() -> float:  # best of 3 fits, as the floor and the reference are best of 3 epochs
        return epoch_seconds(splits, [0], 0.5, 1.0, True, epochs, 3)[0]

    def floor_2() -> float:
        return floor_seconds(shapes, 2 * rows, steps, device)

    out: dict[str, Any] = {"steps_per_epoch": steps, "rows": rows}
    if device.type == "cpu" and not allocations_kept():  # glibc's defaults first, for the before/after rows
        out["gerne_default_malloc_s_per_epoch"], out["gerne_default_malloc_floor_s"] = map(min, _interleaved(
            gerne_epoch, floor_2, rounds=rounds))
        out["gerne_default_malloc_faults_per_epoch"] = faults_per_epoch(splits)
    out["malloc_tuned"] = keep_large_allocations()
    erm_rounds = _interleaved(lambda: epoch_seconds(splits, [0], 1.0, -1.0, False, epochs, 3)[0],
                              lambda: floor_seconds(shapes, rows, steps, device),
                              lambda: plain_epoch_seconds(mlp(), rows, steps, device), rounds=rounds)
    gerne_rounds = _interleaved(gerne_epoch, floor_2, lambda: plain_epoch_seconds(mlp(), 2 * rows, steps, device),
                                rounds=rounds)
    for key, measured in (("erm", erm_rounds), ("gerne", gerne_rounds)):
        out[f"{key}_s_per_epoch"], out[f"{key}_floor_s"], out[f"{key}_plain_s_per_epoch"] = map(min, measured)
        out[f"{key}_round_ratios"] = _round_ratios(measured[0], measured[1])
    out["step_phases_ms"] = {"erm": step_phase_ms(splits, 1.0, -1.0, False),
                             "gerne": step_phase_ms(splits, 0.5, 1.0, True)}
    out["step_phase_floors_ms"] = {key: {p: 1e3 * floor_seconds(shapes, n, steps, device, (p,)) / steps
                                         for p in ("forward", "backward")}
                                   for key, n in (("erm", rows), ("gerne", 2 * rows))}
    return out


PROCESS_OVERHEAD_S = 15.0  # a run's process start, imports and data load (measured once per stage)


def price_column(run_seconds: float, alone_seconds: float, column_runs: int, sweep_runs: int) -> dict[str, Any]:
    """The column's hours: its ``sweep_runs`` at ``run_seconds`` (stacked where faster), the other runs alone."""
    return {"column_runs": column_runs, "column_sweep_runs": sweep_runs,
            "column_hours": ((column_runs - sweep_runs) * alone_seconds + sweep_runs * run_seconds) / 3600.0}


def reprice(result: dict[str, Any], column_runs: int, sweep_runs: int) -> dict[str, Any]:
    """``result`` (a measurement) with the column priced for another design (seeds, rows): nothing re-measured."""
    alone = result["run_epochs"] * (result["gerne_s_per_epoch"] + result["eval_s_per_epoch"]) + PROCESS_OVERHEAD_S
    return {**result, **price_column(result["seconds_per_run"], alone, column_runs, sweep_runs)}


def run_suite(data_dir: str | Path, device: torch.device, epochs: int = 1, stack: int | Sequence[int] = 3,
              rounds: int = 5, run_epochs: int = 65, process_overhead_s: float = PROCESS_OVERHEAD_S,
              column_runs: int = 0, sweep_runs: int = 0) -> dict[str, Any]:
    """Measure floors, our epochs (ERM, GERNE, stacked), the data path and the naive baseline on one split.

    ``stack``: the stack size(s) to time; the fastest per run prices the runs/hour row and the ``sweep_runs`` of the
    ``column_runs`` (the others, seeds of one setting, are priced as runs alone).
    """
    splits = {k: v.to(device) for k, v in load_tensor_dataset(data_dir).items()}
    train = splits["train"]
    r = _epoch_rows(splits, device, epochs, rounds)
    rows, steps, erm, gerne = r.pop("rows"), r["steps_per_epoch"], r["erm_s_per_epoch"], r["gerne_s_per_epoch"]
    _, gerne_eval, _ = epoch_seconds(splits, [0], c=0.5, beta=1.0, track=True, epochs=1, repeats=1)
    sizes = [stack] if isinstance(stack, int) else list(stack)
    by_size = {k: epoch_seconds(splits, list(range(k)), c=0.5, beta=1.0, track=True, epochs=epochs)[0]
               for k in sizes}
    stack = min(by_size, key=by_size.__getitem__)  # the fastest stack size per run
    stacked = by_size[stack]
    cpu_splits = {k: v.to("cpu") for k, v in splits.items()}
    naive = naive_epoch_seconds(cpu_splits["train"], c=0.5, beta=1.0, steps=steps) if device.type == "cpu" else None
    run_stack = stack if stacked < gerne else 1  # a sweep stacks runs where that is faster (a GPU)
    run_seconds = run_epochs * (min(gerne, stacked) + gerne_eval) + process_overhead_s / run_stack
    alone_seconds = run_epochs * (gerne + gerne_eval) + process_overhead_s
    return {
        "machine": machine(),
        "device": str(device),
        **r,
        "rounds": rounds,
        "gerne_faults_per_epoch": faults_per_epoch(splits),
        "gerne_over_erm_per_step": gerne / erm,
        "eval_s_per_epoch": gerne_eval,
        "stack_size": stack,
        "stacked_s_per_run_epoch": stacked,
        "stacked_by_size": {str(k): v for k, v in by_size.items()},
        "stacked_speedup": gerne / stacked,
        "run_stack_size": run_stack,
        "step_host_syncs": step_host_syncs(train),
        "data_path_images_per_s": data_path_images_per_second(train),
        "model_images_per_s": 2 * rows * steps / gerne,
        "naive_s_per_epoch": naive,
        "run_epochs": run_epochs,
        "seconds_per_run": run_seconds,
        "runs_per_hour": 3600.0 / run_seconds,
        **price_column(run_seconds, alone_seconds, column_runs, sweep_runs),
        "image": image_rates(device) if device.type == "cuda" else None,  # ResNet-50 on 2 CPU cores: minutes a step
    }


def _malloc_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Before/after rows of the allocator setting (``gerne.system.keep_large_allocations``)."""
    if "gerne_default_malloc_s_per_epoch" not in r:
        return []
    before, floor = r["gerne_default_malloc_s_per_epoch"], r["gerne_default_malloc_floor_s"]
    return [
        ("GERNE epoch before, with glibc's default malloc thresholds, s", f"{before:.3f}", f"{floor:.3f}",
         f"{before / floor:.2f}×"),
        ("minor page faults per GERNE epoch (train + eval): before → after",
         f"{r['gerne_default_malloc_faults_per_epoch']:,.0f} → {r['gerne_faults_per_epoch']:,.0f}", "", ""),
    ]


def _plain_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The framework reference rows (``plain_epoch_seconds``); absent from results measured before they existed."""
    rows = []
    for key, what in (("erm", "ERM's batch"), ("gerne", "GERNE's two batches as one")):
        plain, floor, ours = r.get(f"{key}_plain_s_per_epoch"), r[f"{key}_floor_s"], r[f"{key}_s_per_epoch"]
        if plain is not None:
            rows.append((f"framework reference: plain eager PyTorch step, {what} preloaded, s", f"{plain:.3f}",
                         f"{floor:.3f}", f"{plain / floor:.2f}× (ours {ours / plain:.2f}× of it)"))
    return rows


def _ratio(r: dict[str, Any], key: str) -> str:
    """Ours over the floor (best round against best round), and the per-round ratios' median and range if measured."""
    text = f"{r[f'{key}_s_per_epoch'] / r[f'{key}_floor_s']:.2f}×"
    if f"{key}_round_ratios" in r:
        ratios = r[f"{key}_round_ratios"]
        text += f" (rounds: median {statistics.median(ratios):.2f}×, {min(ratios):.2f}–{max(ratios):.2f}×)"
    return text


PHASE_NAMES = {"batch": "draw + gather (`StackedStep.batch`)",
               "forward": "forward + loss, incl. uint8 → float (`StackedStep.loss`)",
               "backward": "`zero_grad()` + `backward()`", "update": "SGD update"}


def phase_table(r: dict[str, Any]) -> list[str]:
    """Where a step's time goes: each phase of our step beside the matrix products it contains."""
    if "step_phases_ms" not in r:
        return []
    ours, floors = r["step_phases_ms"], r["step_phase_floors_ms"]

    def cells(key: str, phase: str) -> str:
        floor = floors[key].get(phase)
        mine = ours[key][phase]
        return f"{mine:.2f} | " + ("" if floor is None else f"{floor:.2f} ({mine / floor:.2f}×)")

    total = [(sum(ours[k].values()), sum(floors[k].values())) for k in ("erm", "gerne")]
    return [
        "## Where a step's time goes",
        "",
        "Milliseconds per step of each phase of the training loop's own calls, each the best of 3 epochs, beside",
        "the matrix products that phase contains (the floor's forward and backward halves).",
        "",
        "| phase | ERM, ms | its floor, ms | GERNE, ms | its floor, ms |",
        "|---|---|---|---|---|",
        *[f"| {name} | {cells('erm', p)} | {cells('gerne', p)} |" for p, name in PHASE_NAMES.items()],
        "| whole step | " + " | ".join(f"{a:.2f} | {b:.2f} ({a / b:.2f}×)" for a, b in total) + " |",
        "",
    ]


def to_markdown(r: dict[str, Any]) -> str:
    """The benchmark table as markdown."""
    naive = r["naive_s_per_epoch"]
    gerne = r["gerne_s_per_epoch"]
    rows = [
        ("ERM epoch (one batch per step), s", f"{r['erm_s_per_epoch']:.3f}", f"{r['erm_floor_s']:.3f}",
         _ratio(r, "erm")),
        ("GERNE epoch (two batches per step), s", f"{gerne:.3f}", f"{r['gerne_floor_s']:.3f}", _ratio(r, "gerne")),
        *_plain_rows(r),
        *_malloc_rows(r),
        ("GERNE / ERM per step (ideal ≤ 2.0)", f"{r['gerne_over_erm_per_step']:.2f}", "", ""),
        ("evaluation per epoch (val + test, 15,000 images), s", f"{r['eval_s_per_epoch']:.3f}", "", ""),
        *[(f"{k} runs stacked, s per run-epoch", f"{v:.3f}", "", f"speed-up {gerne / v:.2f}×")
          for k, v in sorted(r.get("stacked_by_size", {str(r["stack_size"]): r["stacked_s_per_run_epoch"]}).items(),
                             key=lambda kv: int(kv[0]))],
        ("data path (sample + gather + convert), images/s", f"{r['data_path_images_per_s']:,.0f}", "", ""),
        ("model training throughput, images/s", f"{r['model_images_per_s']:,.0f}", "", ""),
        ("naive per-sample DataLoader GERNE epoch, s", "CPU only" if naive is None else f"{naive:.3f}", "",
         "" if naive is None else f"ours {naive / gerne:.1f}× faster"),
        ("host synchronisations in 20 training steps (CUDA sync debug mode)",
         "CPU: none possible" if r.get("step_host_syncs") is None else str(r["step_host_syncs"]), "", ""),
        (f"one {r['run_epochs']}-epoch GERNE run incl. evaluation and process start, s "
         f"(stack size {r.get('run_stack_size', 1)})", f"{r['seconds_per_run']:.0f}", "",
         f"{r['runs_per_hour']:.1f} runs/hour"),
    ]
    if r.get("image"):
        rows.extend(image_rows(r["image"]))
    if r.get("column_runs"):
        rows.append((f"GERNE's rows of the C-MNIST column of `params.yaml` ({r['column_runs']} runs at most), hours",
                     f"{r['column_hours']:.1f}", "", f"upper bound: {r.get('column_sweep_runs', 0)} sweep points "
                     "at the runs/hour above, every other run as one GERNE run alone"))
    return "\n".join([
        "# Training speed — C-MNIST (0.5 %)",
        "",
        f"Measured by {MEASURED_BY['cuda' if r['device'].startswith('cuda') else 'cpu']} on: {r['machine']}; "
        f"device `{r['device']}`.",
        f"One epoch = {r['steps_per_epoch']} steps of B = 100 per class (1,000 images per batch). The floor is",
        "the time of the same matrix products alone (forward, weight and hidden-input gradients; no data handling).",
        *_timing_note(r),
        *(PLAIN_NOTE if "erm_plain_s_per_epoch" in r else []),
        "",
        "| measurement | value | floor | ratio |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        *phase_table(r),
        *(GPU_NOTES if r["device"].startswith("cuda") else []),
    ])


def _timing_note(r: dict[str, Any]) -> list[str]:
    if "rounds" not in r:  # measured before the epochs were sampled like the floor
        return ["Epoch times are training only (mean over the timed epochs); evaluation is listed separately."]
    return [f"Epoch times are training only; evaluation is listed separately. Ours, the floor and the reference are "
            f"each the best of 3 epochs in a round, the timers called in turn, and the best of {r['rounds']} rounds;",
            "the ratios of ours to the floor within each round (median and range, in brackets) show how far this",
            "machine's load moves a ratio."]
