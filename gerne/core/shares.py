"""Group shares and the batch distributions of GERNE (Sec. 4.1, Eq. 2, 4, 8, 9).

``alpha`` is a K×A array of within-class group shares α_ya = |X_ya| / |X_y| (Eq. 2): rows sum to 1, a 0 entry is
an empty group that gets probability 0, and A is counted per class over its non-empty groups (A_y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gerne._arrays import ArrayLike, to_numpy
from gerne.errors import ConfigError

_ROW_TOL = 1e-6
_EQ_TOL = 1e-7  # float32 shares of equal groups differ from 1/A by ~1e-8


def plain(value: object) -> str:
    """A number (or list of numbers) as a user writes it in a message: ``1.5``, not ``np.float64(1.5)`` nor
    ``tensor(1.5000)``; one-element arrays and tensors as their single value."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(plain(v) for v in value) + "]"
    if hasattr(value, "tolist") and not isinstance(value, np.generic):  # numpy array, torch tensor
        items = value.tolist()
        while isinstance(items, list) and len(items) == 1:
            items = items[0]
        return plain(items)
    return str(value)  # numpy scalars print as plain numbers (their repr is np.float64(…))


def group_shares(counts: ArrayLike) -> np.ndarray:
    """α from a K×A matrix of group sizes (Eq. 2). Every class needs at least one sample."""
    n = to_numpy(counts, "counts", dtype=np.float64)
    if n.ndim != 2 or (n < 0).any():
        raise ValueError(f"counts must be a K×A matrix of non-negative group sizes, got shape {n.shape}")
    totals = n.sum(axis=1, keepdims=True)
    if (totals == 0).any():
        empty = np.flatnonzero(totals[:, 0] == 0).tolist()
        raise ValueError(f"classes {empty} have no samples; every class needs at least one")
    return n / totals


def validate_alpha(alpha: ArrayLike) -> np.ndarray:
    """Check that ``alpha`` is K×A, finite, in [0, 1], with rows summing to 1; return it as float64."""
    al = to_numpy(alpha, "alpha", dtype=np.float64)
    if al.ndim != 2 or al.shape[0] < 1 or al.shape[1] < 1:
        raise ValueError(f"alpha must be a K×A matrix (classes × attributes), got shape {al.shape}")
    if not np.isfinite(al).all() or (al < 0).any() or (al > 1).any():
        raise ValueError("alpha entries must be finite shares in [0, 1]")
    sums = al.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_TOL)
    if bad.size:
        raise ValueError(f"alpha rows must sum to 1 (within-class shares, Eq. 2); rows {bad.tolist()} sum to "
                         f"{np.round(sums[bad], 6).tolist()}")
    return al


def validate_c(c: float) -> float:
    """c is the bias-reduction factor of Eq. 4, c ∈ (0, 1]."""
    c = float(c)
    if not (0.0 < c <= 1.0):
        raise ValueError(f"c = {c} is outside (0, 1]; c is the bias-reduction factor of Eq. 4")
    return c


def present_attributes(alpha: np.ndarray) -> np.ndarray:
    """A_y: number of non-empty groups of each class (K-vector)."""
    return (alpha > 0).sum(axis=1)


def _mix(alpha: ArrayLike, weight: float) -> np.ndarray:
    """α + weight·(1/A_y − α) on the non-empty groups, 0 on empty ones."""
    al = validate_alpha(alpha)
    present = al > 0
    uniform = present / present_attributes(al)[:, None]
    return np.where(present, al + weight * (uniform - al), 0.0)


def p_lb(alpha: ArrayLike, c: float) -> np.ndarray:
    """Less-biased batch distribution p_lb(a|y) = α_ya + c·(1/A − α_ya) (Eq. 4)."""
    return _mix(alpha, validate_c(c))


def p_ext(alpha: ArrayLike, c: float, beta: float) -> np.ndarray:
    """Distribution simulated by the extrapolated loss, p_ext(a|y) = α_ya + c·(β+1)·(1/A − α_ya) (Eq. 8)."""
    return _mix(alpha, validate_c(c) * (float(beta) + 1.0))


@dataclass(frozen=True)
class BetaBounds:
    """Eq. 9 bounds with the groups that set them (for error messages)."""

    lower: float
    upper: float
    lower_group: tuple[int, int] | None
    upper_group: tuple[int, int] | None


def beta_bounds_detail(alpha: ArrayLike, c: float) -> BetaBounds:
    """Eq. 9 evaluated exactly over every non-empty group with α_ya ≠ 1/A_y."""
    al = validate_alpha(alpha)
    c = validate_c(c)
    inv_a = 1.0 / present_attributes(al)[:, None]
    d = np.broadcast_to(inv_a, al.shape) - al
    active = (al > 0) & (np.abs(d) > _EQ_TOL)
    if not active.any():
        return BetaBounds(-np.inf, np.inf, None, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        i1 = -al / (c * d) - 1.0
        i2 = (1.0 - al) / (c * d) - 1.0
    lows = np.where(active, np.minimum(i1, i2), -np.inf)
    highs = np.where(active, np.maximum(i1, i2), np.inf)
    lo_idx = np.unravel_index(np.argmax(lows), lows.shape)
    hi_idx = np.unravel_index(np.argmin(highs), highs.shape)
    return BetaBounds(float(lows[lo_idx]), float(highs[hi_idx]),
                      (int(lo_idx[0]), int(lo_idx[1])), (int(hi_idx[0]), int(hi_idx[1])))


def beta_bounds(alpha: ArrayLike, c: float) -> tuple[float, float]:
    """(β_min, β_max) of Eq. 9: the β range keeping every p_ext(a|y) in [0, 1]."""
    b = beta_bounds_detail(alpha, c)
    return b.lower, b.upper


def check_beta(alpha: ArrayLike, c: float, beta: float, *, what: str = "training data") -> None:
    """Raise :class:`ConfigError` if β lies outside Eq. 9's bounds, printing the bound and the shares behind it."""
    al = validate_alpha(alpha)
    b = beta_bounds_detail(al, c)
    if b.lower <= beta <= b.upper:
        return
    side, group = ("upper", b.upper_group) if beta > b.upper else ("lower", b.lower_group)
    y, a = group if group is not None else (0, 0)
    share, n_attr = al[y, a], int(present_attributes(al)[y])
    raise ConfigError(
        f"beta = {plain(beta)} is outside the Eq. 9 bounds [{b.lower:.4f}, {b.upper:.4f}] for c = {plain(c)} on the "
        f"{what}: "
        f"the {side} bound is set by group (y={y}, a={a}) with share alpha = {share:.6f} and A_y = {n_attr} "
        f"(i1 = -alpha/(c(1/A-alpha)) - 1, i2 = (1-alpha)/(c(1/A-alpha)) - 1). Outside this range p_ext (Eq. 8) "
        f"gives some group a negative weight and training diverges. Choose beta in [{b.lower:.4f}, {b.upper:.4f}] "
        f"or change c."
    )
