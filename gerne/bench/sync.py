"""Host synchronisations of the training step on a GPU, counted by CUDA's sync debug mode (benchmark only)."""

from __future__ import annotations

import warnings

import torch

from gerne.bench.timing import _stack
from gerne.data.contract import Split
from gerne.methods.gerne import StackedStep
from gerne.train.optimizers import build_optimizer
from gerne.train.stack import ModelStack


def step_host_syncs(train: Split, steps: int = 20, c: float = 0.5, beta: float = 1.0) -> int | None:
    """Host synchronisations made by ``steps`` GERNE training steps (draw, forward, Eq. 5, backward, SGD).

    Counted with ``torch.cuda.set_sync_debug_mode("warn")``, which warns at every synchronising CUDA call; the
    per-epoch loss read-out and evaluation are outside the counted steps. None when ``train`` is not on a GPU
    (there is no host/device boundary to cross).
    """
    if train.y.device.type != "cuda":
        return None
    models, methods = _stack(train, [0], c, beta, True, [100, 100, 100])
    stack = ModelStack(models)
    opt = build_optimizer("sgd", stack.parameters(), lr=0.1, momentum=0.9, weight_decay=1.0e-2, total_steps=steps)
    step, generators = StackedStep(methods), [torch.Generator(device=train.y.device).manual_seed(0)]
    sums = torch.zeros(1, 3, dtype=torch.float64, device=train.y.device)

    def one() -> None:
        nonlocal sums
        loss, parts = step(stack, generators)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sums += parts

    one()  # warm-up: lazy initialisation (cuBLAS handles, optimiser state) may synchronise once
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for _ in range(steps):
                one()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum("synchroniz" in str(w.message) for w in caught)
