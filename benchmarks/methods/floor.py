"""Every method of Table 1 at its floor: one optimiser step of each row's own recipe (its method, grouping, batch,
optimiser and model, built by the pipeline's own code for config 0), beside

- the floor: the matrix products that very step performs (recorded from the step itself, forward and backward,
  whatever the method: two batches for GERNE, two models for LfF, a stacked model), replayed alone on random
  operands of the same shapes and layouts;
- the framework reference: the textbook eager step of the same recipe (forward, mean cross-entropy,
  ``backward()``, ``torch.optim`` with the recipe's optimiser) on one preloaded float batch of as many rows as the
  step's first layer sees.

The three are timed in turn within each round, each the best of 3 blocks of ``steps`` steps, over ``rounds``
rounds; ratios are taken within a round (median and range reported). A run's price is its steps at the measured
step time plus its evaluations at the measured evaluation time; a method that takes no SGD steps (DFR) is timed as
its whole fit beside one scikit-learn fit of the same solver on the same features.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.measure.timing import best_of, device_sync

MATMULS = {"mm", "addmm", "bmm", "baddbmm"}


def _spec(t: torch.Tensor) -> tuple[tuple[int, ...], bool]:
    """A matrix operand's shape and whether it is a transposed view (its last two strides swapped)."""
    transposed = t.dim() >= 2 and t.stride(-2) == 1 and t.stride(-1) != 1
    return tuple(t.shape), transposed


class MatmulRecorder(TorchDispatchMode):
    """Records every matrix product (aten mm, addmm, bmm, baddbmm) dispatched inside it, with its operands' shapes
    and layouts: the floor of whatever ran (autograd's backward products included)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[tuple[tuple[int, ...], bool]]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        name = func.overloadpacket.__name__
        if name in MATMULS:
            self.calls.append((name, [_spec(a) for a in args if isinstance(a, torch.Tensor)]))
        return func(*args, **(kwargs or {}))

    def flops(self) -> int:
        """Multiply-adds × 2 of the recorded products."""
        total = 0
        for _name, specs in self.calls:
            a, b = specs[-2][0], specs[-1][0]
            batch = a[0] if len(a) == 3 else 1
            total += 2 * batch * a[-2] * a[-1] * b[-1]
        return total


def _operand(shape: tuple[int, ...], transposed: bool, device: torch.device) -> torch.Tensor:
    if not transposed:
        return torch.rand(shape, device=device)
    return torch.rand((*shape[:-2], shape[-1], shape[-2]), device=device).transpose(-2, -1)


def replay(calls: list[tuple[str, list[tuple[tuple[int, ...], bool]]]], device: torch.device) -> Callable[[], None]:
    """One step's recorded products, alone, on preallocated random operands of the same shapes and layouts."""
    ops = [(getattr(torch.ops.aten, name).default, [_operand(s, t, device) for s, t in specs])
           for name, specs in calls]

    def run() -> None:
        for op, args in ops:
            op(*args)

    return run


def textbook(model: nn.Module, rows: int, optimizer: str, lr: float, weight_decay: float, momentum: float,
             device: torch.device) -> Callable[[], None]:
    """One textbook eager step of ``model`` on a preloaded float batch of ``rows`` rows with the recipe's
    ``torch.optim`` optimiser (sgd with momentum, adam or adamw)."""
    model = model.to(device).train()
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    classes = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
    x = torch.rand(rows, first.in_features, device=device)
    y = torch.randint(0, classes, (rows,), device=device)
    params = list(model.parameters())
    opt = {"sgd": lambda: torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
           "adam": lambda: torch.optim.Adam(params, lr=lr, weight_decay=weight_decay),
           "adamw": lambda: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)}[optimizer]()

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


@dataclass
class Timed:
    """Seconds per step of each timer (``ours``, ``floor``, ``reference`` and, where measured, ``stacked``: one step
    of ``stack`` runs) in each round."""

    times: dict[str, list[float]]
    stack: int = 1

    def summary(self) -> dict[str, Any]:
        """Best times and the within-round ratios (median, range) of ours to the floor and to the reference; with a
        stacked timer, its best step and the speed-up per run of stacking (ours / (stacked / stack))."""
        t = self.times
        to_floor = [o / f for o, f in zip(t["ours"], t["floor"], strict=True)]
        out = {"step_s": min(t["ours"]), "floor_s": min(t["floor"]), "reference_s": min(t["reference"]),
               "ratio_floor": statistics.median(to_floor), "ratio_floor_range": [min(to_floor), max(to_floor)],
               "ratio_reference": statistics.median(o / r for o, r in zip(t["ours"], t["reference"], strict=True)),
               "reference_floor": statistics.median(r / f for r, f in zip(t["reference"], t["floor"], strict=True))}
        if "stacked" in t:
            gain = [o * self.stack / s for o, s in zip(t["ours"], t["stacked"], strict=True)]
            out.update(stack=self.stack, stacked_step_s=min(t["stacked"]), stack_speedup=statistics.median(gain),
                       stack_speedup_range=[min(gain), max(gain)])
        return out


def interleave(timers: dict[str, tuple[Callable[[], None], int]], rounds: int, device: torch.device) -> dict[
        str, list[float]]:
    """Each timer (a step and its steps per block) timed in turn, ``rounds`` times: seconds per step, best of 3
    blocks."""
    def per_step(fn: Callable[[], None], steps: int) -> float:
        def block() -> None:
            for _ in range(steps):
                fn()
            device_sync(device)
        return best_of(block) / steps

    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, (fn, steps) in timers.items():
            times[name].append(per_step(fn, steps))
    return times


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
