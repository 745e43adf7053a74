"""GERNE's two batches for a standard ``DataLoader`` (Sec. 4.1.1, Algorithm 1): a batch sampler over any map-style
``Dataset`` whose labels and (true or pseudo) attributes you pass in.

Each step yields one list of indices: the biased batch (within each class, groups drawn from p_b = α, Eq. 2),
then the less-biased batch (p_lb, Eq. 4), K·B samples each, class-balanced. :class:`gerne.loop.GerneLoss` splits the
collated batch in these two halves. The draws are the pipeline's own (:class:`gerne.core.sampler.GroupSampler`,
one seeded generator for the whole run), so the same seed gives the pipeline's batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Sampler

from gerne._arrays import ArrayLike, to_long_tensor
from gerne.core.sampler import GroupSampler
from gerne.core.shares import beta_bounds, check_beta, p_lb, validate_c
from gerne.errors import ConfigError, DataError

UNITS = ("class", "group")


def _labels(values: ArrayLike, name: str, size: int | None, count: str) -> tuple[torch.Tensor, int]:
    """``values`` as a CPU int64 tensor and the number of distinct values it may hold (``size``, or its max + 1)."""
    t = to_long_tensor(values, name).cpu()
    if t.numel() == 0:
        raise DataError(f"{name} is empty: the training set needs at least one sample per class")
    if int(t.min()) < 0:
        raise DataError(f"{name} holds {int(t.min())}; labels are integers from 0")
    found = int(t.max()) + 1
    if size is not None and found > size:
        raise DataError(f"{name} holds {found - 1}, outside 0..{size - 1} ({count} = {size}); pass the right "
                        f"{count} or fix the labels")
    return t, size or found


class GerneBatchSampler(Sampler[list[int]]):
    """Index batches of GERNE for ``DataLoader(dataset, batch_sampler=...)``.

    Args:
        labels, attributes: per-sample class y and attribute a (true, or pseudo from
            :func:`gerne.loop.pseudo_groups`), integers from 0, in the dataset's order.
        batch_size: B, samples per class in each of the two batches (per group with ``batch_unit="group"``).
        c: the bias-reduction factor of Eq. 4, in (0, 1].
        beta: the extrapolation factor you will train with; checked against Eq. 9's bounds here, before any step
            (``None`` skips the check).
        steps: batches per epoch (``len(sampler)``); default ⌈N / (K·B)⌉.
        seed: seeds the one generator of the run; :meth:`state_dict` / :meth:`load_state_dict` resume it.
        num_classes, num_attributes: K and A when some label never occurs (default: largest label + 1).
        rank, world_size: for ``torch.distributed``: every rank draws the same global batches and keeps every
            ``world_size``-th sample of each, so the ranks' union is the single-process batch (default: read from
            an initialised process group, else 0 and 1).
    """

    def __init__(self, labels: ArrayLike, attributes: ArrayLike, *, batch_size: int, c: float = 0.5,
                 beta: float | None = None, steps: int | None = None, seed: int = 0,
                 num_classes: int | None = None, num_attributes: int | None = None, batch_unit: str = "class",
                 rank: int | None = None, world_size: int | None = None) -> None:
        y, num_classes = _labels(labels, "labels", num_classes, "num_classes")
        a, num_attributes = _labels(attributes, "attributes", num_attributes, "num_attributes")
        if y.shape != a.shape:
            raise DataError(f"labels and attributes differ in length ({y.numel()} and {a.numel()}); give one "
                            "attribute per sample")
        if batch_unit not in UNITS:
            raise ConfigError(f"batch_unit must be one of {list(UNITS)}, got {batch_unit!r}")
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ConfigError(f"batch_size must be a whole number ≥ 1 (samples per class), got {batch_size!r}")
        self.c = validate_c(c)
        missing = np.flatnonzero(np.bincount(y.numpy(), minlength=num_classes) == 0).tolist()
        if missing:
            raise DataError(f"classes {missing} have no training sample; every class of 0..{num_classes - 1} needs "
                            "one (or pass the right num_classes)")
        self.sampler = GroupSampler(y, a, num_classes, num_attributes)
        self.alpha = self.sampler.alpha
        self.beta_bounds = beta_bounds(self.alpha, self.c)
        if beta is not None:
            check_beta(self.alpha, self.c, float(beta))
        self.beta = beta
        self.per_class = int(batch_size) * (num_attributes if batch_unit == "group" else 1)
        self.batch = self.per_class * num_classes  # samples in each of the two batches, over all ranks
        self.steps = math.ceil(len(y) / self.batch) if steps is None else int(steps)
        if self.steps < 1:
            raise ConfigError(f"steps must be ≥ 1, got {steps!r}")
        self.rank, self.world_size = _distributed(rank, world_size)
        if self.batch % self.world_size:
            raise ConfigError(f"each batch holds {self.batch} samples, which {self.world_size} ranks cannot share "
                              f"equally; choose batch_size so that K·B is a multiple of the world size")
        self._p = (self.sampler.probabilities(self.alpha), self.sampler.probabilities(p_lb(self.alpha, self.c)))
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.steps):
            yield self.draw().tolist()

    def draw(self) -> torch.Tensor:
        """One step's indices (this rank's share): the biased batch, then the less-biased batch."""
        parts = [self.sampler.draw(p, self.per_class, self.generator) for p in self._p]
        return torch.cat([part[self.rank :: self.world_size] for part in parts])

    def state_dict(self) -> dict[str, Any]:
        """The generator's state: :meth:`load_state_dict` continues with the batches that would have come next."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


def _distributed(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is None or world_size is None:
        ready = torch.distributed.is_available() and torch.distributed.is_initialized()
        rank = (torch.distributed.get_rank() if ready else 0) if rank is None else rank
        world_size = (torch.distributed.get_world_size() if ready else 1) if world_size is None else world_size
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} is outside 0..{world_size - 1} (world_size {world_size})")
    return int(rank), int(world_size)
