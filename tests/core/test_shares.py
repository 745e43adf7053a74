"""Eq. 4 (p_lb), Eq. 8 (p_ext) and Eq. 9 (bounds on β) against hand-computed values and a brute-force scan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gerne import ConfigError, beta_bounds, group_shares, p_ext, p_lb
from gerne.core.shares import beta_bounds_detail, check_beta

# Two classes, three attributes, all groups non-empty.
ALPHA = np.array([[0.7, 0.2, 0.1],
                  [0.1, 0.3, 0.6]])
# Class 0 has an empty group (A_0 = 2), class 1 has all three (A_1 = 3).
ALPHA_EMPTY = np.array([[0.8, 0.2, 0.0],
                        [0.5, 0.3, 0.2]])


def cmnist_alpha(num_classes: int = 10) -> tuple[np.ndarray, float]:
    """C-MNIST 0.5 % shares of Appendix C: aligned share 1 − 249/55000, the rest spread over the 9 other colours."""
    a_max = 1.0 - 249.0 / 55000.0
    alpha = np.full((num_classes, num_classes), (1.0 - a_max) / (num_classes - 1))
    np.fill_diagonal(alpha, a_max)
    return alpha, a_max


# --------------------------------------------------------------------------------------------------- Eq. 4 and Eq. 8

def test_p_lb_hand_values() -> None:
    # p_lb = α + c·(1/A − α), c = 0.5, A = 3
    third = 1.0 / 3.0
    expected = np.array([[0.7 + 0.5 * (third - 0.7), 0.2 + 0.5 * (third - 0.2), 0.1 + 0.5 * (third - 0.1)],
                         [0.1 + 0.5 * (third - 0.1), 0.3 + 0.5 * (third - 0.3), 0.6 + 0.5 * (third - 0.6)]])
    np.testing.assert_allclose(p_lb(ALPHA, 0.5), expected, rtol=0, atol=1e-12)
    # spot check with plain numbers: 0.7 + 0.5·(1/3 − 0.7) = 0.516666…
    assert p_lb(ALPHA, 0.5)[0, 0] == pytest.approx(0.5166666666666667, abs=1e-12)


def test_p_ext_hand_values() -> None:
    # c = 0.5, β = 1 → weight c·(β+1) = 1: uniform; c = 0.5, β = 0.5 → weight 0.75
    got = p_ext(ALPHA, 0.5, 0.5)
    assert got[0, 0] == pytest.approx(0.7 + 0.75 * (1 / 3 - 0.7), abs=1e-12)  # 0.425
    assert got[0, 0] == pytest.approx(0.425, abs=1e-12)
    assert got[1, 0] == pytest.approx(0.1 + 0.75 * (1 / 3 - 0.1), abs=1e-12)  # 0.275
    assert got[1, 2] == pytest.approx(0.6 + 0.75 * (1 / 3 - 0.6), abs=1e-12)  # 0.4


def test_p_lb_c1_is_uniform_over_non_empty_groups() -> None:
    np.testing.assert_allclose(p_lb(ALPHA, 1.0), np.full((2, 3), 1 / 3), atol=1e-12)
    np.testing.assert_allclose(p_lb(ALPHA_EMPTY, 1.0), [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)


@pytest.mark.parametrize("c", [0.1, 0.5, 1.0])
def test_p_ext_beta_minus_one_equals_alpha(c: float) -> None:
    np.testing.assert_allclose(p_ext(ALPHA, c, -1.0), ALPHA, atol=1e-12)
    np.testing.assert_allclose(p_ext(ALPHA_EMPTY, c, -1.0), ALPHA_EMPTY, atol=1e-12)


def test_p_ext_resampling_c1_beta0_is_uniform() -> None:
    np.testing.assert_allclose(p_ext(ALPHA, 1.0, 0.0), np.full((2, 3), 1 / 3), atol=1e-12)


@pytest.mark.parametrize(("c", "beta"), [(0.5, 1.0), (0.25, 3.0), (0.8, 0.25), (1.0, 0.0)])
def test_p_ext_uniform_when_c_times_beta_plus_one_is_one(c: float, beta: float) -> None:
    alpha, _ = cmnist_alpha()
    np.testing.assert_allclose(p_ext(alpha, c, beta), np.full_like(alpha, 0.1), atol=1e-12)
    np.testing.assert_allclose(p_ext(ALPHA_EMPTY, c, beta), [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)


def test_p_ext_over_represents_minority_when_c_beta_plus_one_above_one() -> None:
    alpha, _ = cmnist_alpha()
    got = p_ext(alpha, 0.5, 1.2)  # c·(β+1) = 1.1 > 1
    minority = ~np.eye(10, dtype=bool)
    assert (got[minority] > 0.1).all()
    assert (got[~minority] < 0.1).all()
    # and below 1: minority shares rise with β but stay under 1/A
    below = p_ext(alpha, 0.5, 0.5)  # c·(β+1) = 0.75
    assert (below[minority] < 0.1).all() and (below[minority] > alpha[minority]).all()


def test_empty_groups_stay_zero_and_a_counted_per_class() -> None:
    for c, beta in [(0.5, 0.0), (0.5, 1.0), (1.0, 0.0), (0.3, 2.0)]:
        got = p_ext(ALPHA_EMPTY, c, beta)
        assert got[0, 2] == 0.0
        w = c * (beta + 1.0)
        # class 0 mixes towards 1/2 (A_0 = 2 non-empty groups), class 1 towards 1/3
        np.testing.assert_allclose(got[0, :2], [0.8 + w * (0.5 - 0.8), 0.2 + w * (0.5 - 0.2)], atol=1e-12)
        np.testing.assert_allclose(got[1], ALPHA_EMPTY[1] + w * (1 / 3 - ALPHA_EMPTY[1]), atol=1e-12)
    assert p_lb(ALPHA_EMPTY, 0.5)[0, 2] == 0.0


@pytest.mark.parametrize("c", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("beta", [-1.0, 0.0, 0.7, 1.0])
def test_rows_sum_to_one(c: float, beta: float) -> None:
    for alpha in (ALPHA, ALPHA_EMPTY, cmnist_alpha()[0]):
        np.testing.assert_allclose(p_lb(alpha, c).sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(p_ext(alpha, c, beta).sum(axis=1), 1.0, atol=1e-12)


def test_group_shares_from_counts() -> None:
    np.testing.assert_allclose(group_shares([[8, 2, 0], [5, 3, 2]]), ALPHA_EMPTY, atol=1e-12)
    with pytest.raises(ValueError, match="no samples"):
        group_shares([[1, 1], [0, 0]])


# --------------------------------------------------------------------------------------------------- Eq. 9

def brute_force_valid(alpha: np.ndarray, c: float, betas: np.ndarray) -> np.ndarray:
    """For each β of the grid: is every p_ext(a|y) inside [0, 1]? (independent of the library's p_ext)."""
    present = alpha > 0
    uniform = present / present.sum(axis=1, keepdims=True)
    w = c * (betas + 1.0)
    p = np.where(present[None], alpha[None] + w[:, None, None] * (uniform - alpha)[None], 0.0)
    return ((p >= 0.0) & (p <= 1.0)).all(axis=(1, 2))


def random_alphas() -> list[np.ndarray]:
    rng = np.random.default_rng(1234)
    out = []
    for k, a, empty in [(3, 4, False), (5, 2, False), (4, 6, True), (2, 10, True), (6, 3, True)]:
        counts = rng.integers(1, 200, size=(k, a)).astype(float)
        # skew one group per class so that the bounds are finite and interesting
        counts[np.arange(k), rng.integers(0, a, size=k)] *= rng.uniform(5, 50, size=k)
        if empty:
            mask = rng.random((k, a)) < 0.3
            mask[np.arange(k), counts.argmax(axis=1)] = False  # keep every class non-empty
            counts[mask] = 0.0
        out.append(counts / counts.sum(axis=1, keepdims=True))
    return out


@pytest.mark.parametrize("alpha", random_alphas(), ids=lambda a: f"{a.shape[0]}x{a.shape[1]}")
@pytest.mark.parametrize("c", [0.3, 0.5, 1.0])
def test_beta_bounds_match_brute_force_scan(alpha: np.ndarray, c: float) -> None:
    lo, hi = beta_bounds(alpha, c)
    assert np.isfinite(lo) and np.isfinite(hi)
    # β = −1 (p_ext = α) and every convex mix c·(β+1) ≤ 1 are valid distributions
    assert lo <= -1.0 and hi >= 1.0 / c - 1.0 - 1e-12
    step = 1e-3
    betas = np.arange(lo - 5.0, hi + 5.0, step)
    valid = brute_force_valid(alpha, c, betas)
    assert valid.any()
    inside = betas[valid]
    # the valid set is one interval that coincides with [lo, hi] up to the grid resolution
    assert valid[np.flatnonzero(valid)[0]: np.flatnonzero(valid)[-1] + 1].all()
    assert inside.min() == pytest.approx(lo, abs=step)
    assert inside.max() == pytest.approx(hi, abs=step)
    # every grid point strictly inside the bounds is valid, every point outside is not
    tol = 1e-9
    np.testing.assert_array_equal(valid[(betas > lo + tol) & (betas < hi - tol)], True)
    np.testing.assert_array_equal(valid[(betas < lo - tol) | (betas > hi + tol)], False)
    # the library's p_ext agrees at the bounds themselves: inside [0, 1] up to rounding, and some group touches 0 or 1
    for b in (lo, hi):
        p = p_ext(alpha, c, b)
        assert p.min() >= -1e-9 and p.max() <= 1 + 1e-9
        assert np.isclose(p, 0.0, atol=1e-9)[alpha > 0].any() or np.isclose(p, 1.0, atol=1e-9).any()


def test_beta_bounds_eq9_formula_by_hand() -> None:
    # ALPHA row 0 = [0.7, 0.2, 0.1], row 1 = [0.1, 0.3, 0.6], c = 0.5, A = 3
    c, inv_a = 0.5, 1.0 / 3.0
    i1 = -ALPHA / (c * (inv_a - ALPHA)) - 1.0
    i2 = (1.0 - ALPHA) / (c * (inv_a - ALPHA)) - 1.0
    lo, hi = beta_bounds(ALPHA, c)
    assert lo == pytest.approx(np.minimum(i1, i2).max(), abs=1e-12)
    assert hi == pytest.approx(np.maximum(i1, i2).min(), abs=1e-12)
    # the upper bound is set by the largest share (0.7): α/(c(α − 1/A)) − 1 = 0.7/(0.5·(0.7 − 1/3)) − 1 = 2.8181…
    assert hi == pytest.approx(0.7 / (0.5 * (0.7 - inv_a)) - 1.0, abs=1e-12)
    assert hi == pytest.approx(2.8181818181818183, abs=1e-12)
    detail = beta_bounds_detail(ALPHA, c)
    assert detail.upper_group == (0, 0)


def test_beta_max_cmnist_check_value() -> None:
    alpha, a_max = cmnist_alpha()
    c, A = 0.5, 10
    lo, hi = beta_bounds(alpha, c)
    assert round(hi, 2) == 1.22
    assert hi == pytest.approx(a_max / (c * (a_max - 1.0 / A)) - 1.0, rel=1e-12)
    assert lo <= -1.0  # β = −1 gives p_ext = α, always a valid distribution
    check_beta(alpha, c, -1.0)
    check_beta(alpha, c, 1.0)  # β = 1 of Fig. 2 is allowed
    check_beta(alpha, c, 1.2)  # unstable but still inside
    with pytest.raises(ConfigError):
        check_beta(alpha, c, 1.23)


def test_beta_bounds_uniform_alpha_unbounded() -> None:
    assert beta_bounds(np.full((3, 4), 0.25), 0.5) == (-np.inf, np.inf)
    # uniform over the non-empty groups of each class is also unbounded
    assert beta_bounds(np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]), 1.0) == (-np.inf, np.inf)


def test_torch_input_gives_same_result() -> None:
    t = torch.tensor(ALPHA_EMPTY, dtype=torch.float64)
    np.testing.assert_allclose(p_lb(t, 0.5), p_lb(ALPHA_EMPTY, 0.5), atol=1e-15)
    np.testing.assert_allclose(p_ext(t, 0.5, 0.8), p_ext(ALPHA_EMPTY, 0.5, 0.8), atol=1e-15)
    assert beta_bounds(t, 0.5) == pytest.approx(beta_bounds(ALPHA_EMPTY, 0.5), abs=1e-12)
    t32 = torch.tensor(ALPHA, dtype=torch.float32)
    np.testing.assert_allclose(beta_bounds(t32, 0.5), beta_bounds(ALPHA, 0.5), rtol=1e-5)


# --------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("bad", [np.array([0.5, 0.5]), np.ones((2, 2, 2)) / 2, np.array(0.5)])
def test_non_2d_alpha_rejected(bad: np.ndarray) -> None:
    for fn in (lambda a: p_lb(a, 0.5), lambda a: p_ext(a, 0.5, 0.0), lambda a: beta_bounds(a, 0.5)):
        with pytest.raises(ValueError):
            fn(bad)


def test_rows_not_summing_to_one_rejected() -> None:
    bad = np.array([[0.5, 0.4], [0.5, 0.5]])
    for fn in (lambda a: p_lb(a, 0.5), lambda a: p_ext(a, 0.5, 0.0), lambda a: beta_bounds(a, 0.5)):
        with pytest.raises(ValueError, match="sum to 1"):
            fn(bad)


def test_negative_entries_rejected() -> None:
    bad = np.array([[1.2, -0.2], [0.5, 0.5]])  # rows sum to 1 but one share is negative
    for fn in (lambda a: p_lb(a, 0.5), lambda a: p_ext(a, 0.5, 0.0), lambda a: beta_bounds(a, 0.5)):
        with pytest.raises(ValueError):
            fn(bad)


@pytest.mark.parametrize("c", [0.0, 1.5, -0.1])
def test_c_outside_unit_interval_rejected(c: float) -> None:
    with pytest.raises(ValueError, match="c"):
        p_lb(ALPHA, c)
    with pytest.raises(ValueError):
        p_ext(ALPHA, c, 0.0)
    with pytest.raises(ValueError):
        beta_bounds(ALPHA, c)


# --------------------------------------------------------------------------------------------------- check_beta

def test_check_beta_above_upper_bound() -> None:
    lo, hi = beta_bounds(ALPHA, 0.5)
    with pytest.raises(ConfigError) as info:
        check_beta(ALPHA, 0.5, hi + 0.01)
    msg = str(info.value)
    assert f"{hi:.4f}" in msg and f"{lo:.4f}" in msg
    assert "upper" in msg
    assert "y=0, a=0" in msg  # the group with the largest share sets the upper bound
    assert isinstance(info.value, ValueError)


def test_check_beta_below_lower_bound() -> None:
    detail = beta_bounds_detail(ALPHA, 0.5)
    with pytest.raises(ConfigError) as info:
        check_beta(ALPHA, 0.5, detail.lower - 0.01)
    msg = str(info.value)
    assert f"{detail.lower:.4f}" in msg and "lower" in msg
    y, a = detail.lower_group
    assert f"y={y}, a={a}" in msg


def test_check_beta_passes_inside_and_at_bounds() -> None:
    lo, hi = beta_bounds(ALPHA, 0.5)
    for beta in (lo, hi, 0.0, -0.5, (lo + hi) / 2):
        check_beta(ALPHA, 0.5, beta)
    check_beta(np.full((2, 2), 0.5), 0.5, 1e6)  # uniform shares: any β


@pytest.mark.parametrize("c, beta", [(np.float64(0.5), np.float64(5.0)), (np.float32(0.5), np.float32(5.0)),
                                     (0.5, np.array(5.0)), (np.array([0.5]), np.array([5.0])),
                                     (torch.tensor(0.5), torch.tensor(5.0)), (0.5, [5.0])])
def test_check_beta_message_shows_plain_numbers(c: object, beta: object) -> None:
    """numpy / torch scalars and one-element arrays print as the number itself, bounds with 4 decimals."""
    with pytest.raises(ConfigError) as info:
        check_beta(ALPHA, float(np.asarray(c).item()), beta if not isinstance(beta, list) else np.array(beta))
    msg = str(info.value)
    assert "np." not in msg and "tensor" not in msg and "array" not in msg and "[5.]" not in msg
    assert msg.startswith("beta = 5.0 is outside the Eq. 9 bounds [")
    lo, hi = beta_bounds(ALPHA, 0.5)
    assert f"[{lo:.4f}, {hi:.4f}] for c = 0.5 on the training data" in msg


def test_check_beta_c_given_as_numpy_scalar() -> None:
    with pytest.raises(ConfigError) as info:
        check_beta(ALPHA, np.float64(0.5), np.float64(5.0))
    assert "for c = 0.5 on" in str(info.value) and "np." not in str(info.value)


def test_plain_formats_numbers_and_lists() -> None:
    from gerne.core.shares import plain

    assert plain(np.float64(1.5)) == "1.5" and plain([np.float64(1.5), np.int64(2)]) == "[1.5, 2]"
    assert plain(np.array([0.25])) == "0.25" and plain(torch.tensor([3])) == "3" and plain(0.1) == "0.1"
    assert plain(np.array([1.0, 2.0])) == "[1.0, 2.0]"
