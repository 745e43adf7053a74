"""Batched, on-device evaluation of R stacked runs: accuracy, GBA, WGA, worst-class, CBA, aligned/conflicting
accuracy of every run on every split, scored with one set of kernels for the whole stack and read in one host
transfer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gerne.data.contract import Split

if TYPE_CHECKING:
    from gerne.train.stack import ModelStack

SCALARS = ("acc", "gba", "wga", "cba", "worst_class", "aligned_acc", "conflicting_acc")


def aligned_attributes(train: Split) -> torch.Tensor:
    """Majority attribute of each class in the training split (for aligned/conflicting accuracy)."""
    gid = train.y * train.num_attributes + train.a
    counts = torch.bincount(gid, minlength=train.num_classes * train.num_attributes)
    return counts.reshape(train.num_classes, train.num_attributes).argmax(1)


def evaluate(stack: ModelStack, splits: dict[str, Split], aligned: torch.Tensor,
             batch_size: int = 8192) -> tuple[list[dict], list[dict]]:
    """Scores of every run on every split in one host transfer: per run ``{split_metric: value}`` and
    ``{split: K×A accuracies}``."""
    vectors, tables = [], []
    for split in splits.values():
        vector, table = split_scores(stack.predict(split.x, chunk=batch_size), split, aligned)
        vectors.append(vector)
        tables.append(table)
    values = torch.stack(vectors).cpu().numpy()  # [splits, R, metrics]
    groups = [t.cpu().numpy() for t in tables]
    metrics = [{f"{name}_{m}": float(values[i, r, j]) for i, name in enumerate(splits) for j, m in enumerate(SCALARS)}
               for r in range(stack.size)]
    return metrics, [{name: groups[i][r] for i, name in enumerate(splits)} for r in range(stack.size)]


def split_scores(preds: torch.Tensor, split: Split, aligned: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions ``[R, N]`` of R runs → (``[R, len(SCALARS)]`` scores, ``[R, K, A]`` group accuracies), on the
    device (no host sync), the same kernels whatever R.

    ``aligned[y]`` is the majority attribute of class y in the training data (for C-MNIST the colour y), so the
    aligned/conflicting accuracies are over samples with ``a == aligned[y]`` and the rest. Every count is an exact
    float64 sum of 0/1, so a run's scores do not depend on the runs beside it.
    """
    K, A = split.num_classes, split.num_attributes
    correct = (preds == split.y).double()
    group_acc = _rates(correct, split.y * A + split.a, K * A).reshape(-1, K, A)
    class_acc = _rates(correct, split.y, K)
    is_aligned = (split.a == aligned[split.y]).double()
    scalars = torch.stack([
        correct.mean(1),
        group_acc.flatten(1).nanmean(1),
        _nanmin(group_acc.flatten(1)),
        class_acc.nanmean(1),
        _nanmin(class_acc),
        _masked_mean(correct, is_aligned),
        _masked_mean(correct, 1.0 - is_aligned),
    ], dim=1)
    return scalars, group_acc


def _rates(correct: torch.Tensor, ids: torch.Tensor, size: int) -> torch.Tensor:
    """``[R, size]`` accuracy of each run on each id (NaN where no sample has it), one ``bincount`` for all runs."""
    runs = correct.shape[0]
    counts = torch.bincount(ids, minlength=size)
    offsets = torch.arange(runs, device=ids.device)[:, None] * size
    hits = torch.bincount((ids + offsets).flatten(), weights=correct.flatten(), minlength=runs * size)
    acc = hits.reshape(runs, size) / counts.clamp(min=1)
    return torch.where(counts > 0, acc, torch.full_like(acc, float("nan")))


def _masked_mean(correct: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-run accuracy over the samples of ``mask`` (0/1); NaN when it holds none."""
    n = mask.sum()
    return torch.where(n > 0, (correct * mask).sum(1) / n.clamp(min=1), torch.full_like(correct[:, 0], float("nan")))


def _nanmin(t: torch.Tensor) -> torch.Tensor:
    """Per-row minimum ignoring NaN (NaN-free rows assumed non-empty)."""
    return torch.where(torch.isnan(t), torch.full_like(t, float("inf")), t).amin(1)
