"""Pseudo-attributes (Sec. 4.2, Algorithm 2): lowest-confidence ⌊t·|X_y|⌋ per class, and their quality (Fig. 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gerne import pseudo_minority
from gerne.core.pseudo import (
    PSEUDO_MAJORITY,
    PSEUDO_MINORITY,
    pseudo_attributes,
    pseudo_minority_detail,
    pseudo_quality,
)

# class 0: 10 samples, class 1: 5 samples, interleaved
Y = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0])
CONF = np.array([0.90, 0.40, 0.05, 0.80, 0.10, 0.30, 0.95, 0.70, 0.20, 0.60, 0.99, 0.85, 0.50, 0.15, 0.75])
# class 0 (indices 0,2,3,5,6,8,9,11,12,14) sorted by confidence: 2 (.05), 8 (.20), 5 (.30), 12 (.50), 9 (.60), ...
# class 1 (indices 1,4,7,10,13) sorted by confidence: 4 (.10), 13 (.15), 1 (.40), 7 (.70), 10 (.99)


def selected(mask) -> set[int]:
    return set(np.flatnonzero(np.asarray(mask)).tolist())


def test_hand_example_t_0_3() -> None:
    # ⌊0.3·10⌋ = 3 for class 0, ⌊0.3·5⌋ = 1 for class 1
    assert math.floor(0.3 * 10) == 3
    mask = pseudo_minority(CONF, Y, 0.3)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == Y.shape
    assert selected(mask) == {2, 8, 5, 4}


def test_hand_example_t_0_5() -> None:
    # ⌊0.5·10⌋ = 5, ⌊0.5·5⌋ = 2
    assert selected(pseudo_minority(CONF, Y, 0.5)) == {2, 8, 5, 12, 9, 4, 13}
    detail = pseudo_minority_detail(CONF, Y, 0.5)
    assert detail.clamped_classes == []


@pytest.mark.parametrize("t", [0.05, 0.1, 0.25, 0.4, 0.6, 0.85, 0.95])
def test_count_per_class_is_floor_t_n(t: float) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=400)
    conf = rng.random(400)
    mask = pseudo_minority(conf, y, t)
    for cls in range(4):
        in_cls = y == cls
        n = int(in_cls.sum())
        k = min(max(math.floor(t * n), 1), n - 1)
        assert int(mask[in_cls].sum()) == k
        # the selected ones are exactly the k lowest confidences of the class
        assert conf[in_cls & mask].max() < conf[in_cls & ~mask].min()


def test_clamps_to_at_least_one() -> None:
    # t = 0.05: ⌊0.5⌋ = 0 and ⌊0.25⌋ = 0 → both clamped to 1
    detail = pseudo_minority_detail(CONF, Y, 0.05)
    assert selected(detail.mask) == {2, 4}
    assert detail.clamped_classes == [0, 1]
    # t = 0.1: ⌊1.0⌋ = 1 for class 0 (no clamp), ⌊0.5⌋ = 0 for class 1 (clamped)
    detail = pseudo_minority_detail(CONF, Y, 0.1)
    assert selected(detail.mask) == {2, 4}
    assert detail.clamped_classes == [1]


def test_at_most_all_but_one() -> None:
    y = np.array([0, 0, 1, 1, 1])
    conf = np.array([0.2, 0.1, 0.3, 0.2, 0.1])
    for t in (0.5, 0.9, 0.999999):
        mask = pseudo_minority(conf, y, t)
        assert int(mask[y == 0].sum()) == 1 and int(mask[y == 1].sum()) <= 2
        assert (~mask[y == 0]).any() and (~mask[y == 1]).any()  # the majority group stays non-empty
    assert selected(pseudo_minority(conf, y, 0.999999)) == {1, 4, 3}


def test_class_with_one_sample_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        pseudo_minority(np.array([0.1, 0.2, 0.3]), np.array([0, 0, 1]), 0.5)


def test_ties_broken_by_index() -> None:
    y = np.zeros(6, dtype=np.int64)
    conf = np.array([0.5, 0.1, 0.1, 0.1, 0.9, 0.1])
    assert selected(pseudo_minority(conf, y, 0.5)) == {1, 2, 3}


def test_torch_input_gives_torch_mask() -> None:
    mask = pseudo_minority(torch.tensor(CONF, dtype=torch.float32), torch.tensor(Y), 0.3)
    assert isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and mask.shape == (len(Y),)
    assert selected(mask.numpy()) == {2, 8, 5, 4}


def test_pseudo_attributes_coding() -> None:
    mask = pseudo_minority(CONF, Y, 0.3)
    a = pseudo_attributes(mask)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, np.where(mask, PSEUDO_MINORITY, PSEUDO_MAJORITY))
    assert PSEUDO_MINORITY != PSEUDO_MAJORITY and {PSEUDO_MINORITY, PSEUDO_MAJORITY} == {0, 1}


@pytest.mark.parametrize("t", [0.0, 1.0, -0.2, 1.5])
def test_t_outside_open_unit_interval(t: float) -> None:
    with pytest.raises(ValueError, match=r"t = .* outside"):
        pseudo_minority(CONF, Y, t)


def test_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        pseudo_minority(CONF[:-1], Y, 0.3)
    with pytest.raises(ValueError):
        pseudo_minority(CONF.reshape(3, 5), Y.reshape(3, 5), 0.3)


def test_non_integer_labels() -> None:
    with pytest.raises(ValueError, match="integer"):
        pseudo_minority(CONF, Y.astype(np.float64), 0.3)
    with pytest.raises(ValueError, match="integer"):
        pseudo_minority(torch.tensor(CONF), torch.tensor(Y, dtype=torch.float32), 0.3)


def test_non_finite_confidence() -> None:
    conf = CONF.copy()
    conf[3] = np.nan
    with pytest.raises(ValueError):
        pseudo_minority(conf, Y, 0.3)


def test_pseudo_quality_hand_example() -> None:
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    mask = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    minority = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    # class 0: pseudo {0,1,2}, true {1,2,5}: hit 2 → precision 2/3, recall 2/3
    # class 1: pseudo {6},     true {6,7}:   hit 1 → precision 1,   recall 1/2
    q = pseudo_quality(mask, y, minority)
    assert q["precision"] == pytest.approx({0: 2 / 3, 1: 1.0})
    assert q["recall"] == pytest.approx({0: 2 / 3, 1: 0.5})
    assert q["avg_precision"] == pytest.approx(5 / 6)
    assert q["avg_recall"] == pytest.approx(7 / 12)
    # torch inputs give the same numbers
    qt = pseudo_quality(torch.tensor(mask), torch.tensor(y), torch.tensor(minority))
    assert qt["avg_precision"] == pytest.approx(5 / 6) and qt["avg_recall"] == pytest.approx(7 / 12)


def test_pseudo_quality_class_without_true_minority() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    mask = np.array([1, 0, 0, 1, 0, 0], dtype=bool)
    minority = np.array([1, 0, 0, 0, 0, 0], dtype=bool)
    q = pseudo_quality(mask, y, minority)
    assert q["precision"] == pytest.approx({0: 1.0, 1: 0.0})
    assert q["recall"][0] == 1.0 and math.isnan(q["recall"][1])
    assert q["avg_recall"] == pytest.approx(1.0)  # the NaN class is left out
    assert q["avg_precision"] == pytest.approx(0.5)
