"""Several runs of one architecture trained in lockstep as one stacked model (``torch.func``).

Small models on a GPU are launch-bound: stacking R runs (seeds or grid points of the same shape) turns R small
matrix products into one batched product, so a sweep fills the device. R = 1 is the plain model, same code path.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state


class ModelStack:
    """R models with identical architecture; ``forward`` maps inputs ``[R, N, ...]`` to logits ``[R, N, K]``."""

    def __init__(self, models: list[nn.Module], precision: str = "fp32") -> None:
        if not models:
            raise ValueError("ModelStack needs at least one model")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got '{precision}'")
        self.bf16 = precision == "bf16"
        self.models = models
        self.size = len(models)
        if self.size == 1:
            self._params = list(models[0].parameters())
            return
        shapes = {tuple((k, tuple(v.shape)) for k, v in m.state_dict().items()) for m in models}
        if len(shapes) != 1:
            raise ValueError("stacked runs must share one architecture (same parameter names and shapes)")
        if any(b.is_floating_point() for m in models for b in m.buffers()):
            raise ValueError("stacked runs need models without running statistics (e.g. BatchNorm); run them one "
                             "per process (stack size 1)")
        params, self._buffers = stack_module_state(models)
        self._stacked = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self._base = copy.deepcopy(models[0]).to("meta")
        self._params = list(self._stacked.values())

        def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return functional_call(self._base, (p, b), (x,))

        self._per_run = torch.vmap(one, in_dims=(0, 0, 0))
        self._shared = torch.vmap(one, in_dims=(0, 0, None))

    @property
    def base(self) -> nn.Module:
        """The first model (for checks such as batch statistics)."""
        return self.models[0]

    def parameters(self) -> list[torch.Tensor]:
        """Trainable tensors (stacked with a leading R dimension when R > 1)."""
        return self._params

    def train(self, mode: bool = True) -> None:
        for m in self.models:
            m.train(mode)

    def _autocast(self, x: torch.Tensor) -> torch.autocast:
        return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-run inputs ``[R, N, ...]`` → float32 logits ``[R, N, K]`` (bf16 autocast inside if configured)."""
        with self._autocast(x):
            out = self.models[0](x[0])[None] if self.size == 1 else self._per_run(self._stacked, self._buffers, x)
        return out.float() if self.bf16 else out

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """Arg-max predictions ``[R, N]`` of every run for shared inputs ``[N, ...]``, in eval mode."""
        self.train(False)
        outs = []
        for i in range(0, x.shape[0], chunk):
            part = x[i : i + chunk]
            with self._autocast(part):
                logits = self.models[0](part)[None] if self.size == 1 else self._shared(self._stacked, self._buffers,
                                                                                        part)
            outs.append(logits.argmax(-1))
        self.train(True)
        return torch.cat(outs, dim=1)

    def state_dict(self, r: int) -> dict[str, torch.Tensor]:
        """CPU copy of run ``r``'s state."""
        if self.size == 1:
            return {k: v.detach().cpu().clone() for k, v in self.models[0].state_dict().items()}
        state = {k: v[r] for k, v in {**self._stacked, **self._buffers}.items()}
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    def sync_to_models(self) -> None:
        """Write the stacked parameters back into the individual models."""
        if self.size > 1:
            for r, m in enumerate(self.models):
                m.load_state_dict(self.state_dict(r))
