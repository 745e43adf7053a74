"""Host synchronisations of the training step on a GPU, counted by CUDA's sync debug mode (benchmark only)."""

from __future__ import annotations

import warnings

import torch

from benchmarks.measure.timing import _stack
from gerne.data.contract import Split
from gerne.train.loop import LoopConfig, fit_stack


def _fit_syncs(train: Split, steps: int, c: float, beta: float) -> int:
    """Synchronising CUDA calls of a one-epoch fit of ``steps`` steps (the real loop, evaluation included)."""
    models, methods = _stack(train, [0], c, beta, True, [100, 100, 100])
    cfg = LoopConfig(epochs=1, lr=0.1, steps_per_epoch=steps)
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fit_stack(models, methods, {"train": train}, [cfg], desc="sync check")
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum("synchroniz" in str(w.message) for w in caught)


def step_host_syncs(train: Split, steps: int = 20, c: float = 0.5, beta: float = 1.0) -> int | None:
    """Host synchronisations made by ``steps`` GERNE training steps (draw, forward, Eq. 5, backward, SGD).

    The training loop itself runs twice, with 5 and with 5 + ``steps`` steps in its one epoch; the difference
    leaves out what happens once per fit (set-up, the epoch's loss read-out, evaluation). None when ``train`` is
    not on a GPU (there is no host/device boundary to cross).
    """
    if train.y.device.type != "cuda":
        return None
    _fit_syncs(train, 5, c, beta)  # warm-up: lazy CUDA initialisation synchronises once per process
    return _fit_syncs(train, 5 + steps, c, beta) - _fit_syncs(train, 5, c, beta)
