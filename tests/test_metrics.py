"""Group metrics (Sec. 5) on hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gerne import class_balanced_accuracy, gba, group_accuracies, wga, worst_class_accuracy
from gerne.metrics import class_accuracies

#           group (0,0)   (0,1)  (1,0)   (1,1)
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
A = np.array([0, 0, 0, 1, 0, 1, 1, 1, 1])
P = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1])
# per group: (0,0) 2/3, (0,1) 1, (1,0) 1, (1,1) 3/4
# per class: class 0 3/4, class 1 4/5;  overall 7/9

# K = 2, A = 3 with group (0, 2) empty: class 1 gets two samples of attribute 2, one right, one wrong
Y_E = np.concatenate([Y, [1, 1]])
A_E = np.concatenate([A, [2, 2]])
P_E = np.concatenate([P, [1, 0]])


def test_group_accuracies_hand() -> None:
    np.testing.assert_allclose(group_accuracies(P, Y, A), [[2 / 3, 1.0], [1.0, 3 / 4]], atol=1e-12)


def test_gba_wga_hand() -> None:
    assert gba(P, Y, A) == pytest.approx((2 / 3 + 1 + 1 + 3 / 4) / 4)  # 41/48
    assert gba(P, Y, A) == pytest.approx(41 / 48)
    assert wga(P, Y, A) == pytest.approx(2 / 3)


def test_class_metrics_hand() -> None:
    np.testing.assert_allclose(class_accuracies(P, Y), [3 / 4, 4 / 5], atol=1e-12)
    assert worst_class_accuracy(P, Y) == pytest.approx(3 / 4)
    assert class_balanced_accuracy(P, Y) == pytest.approx(31 / 40)
    assert class_balanced_accuracy(P, Y) != pytest.approx(7 / 9)  # not the plain accuracy


def test_empty_group_excluded() -> None:
    table = group_accuracies(P_E, Y_E, A_E)
    assert table.shape == (2, 3)
    assert math.isnan(table[0, 2])
    np.testing.assert_allclose(table[1], [1.0, 3 / 4, 1 / 2], atol=1e-12)
    assert gba(P_E, Y_E, A_E) == pytest.approx((2 / 3 + 1 + 1 + 3 / 4 + 1 / 2) / 5)
    assert wga(P_E, Y_E, A_E) == pytest.approx(1 / 2)
    # class 1 now 5/7
    assert worst_class_accuracy(P_E, Y_E) == pytest.approx(5 / 7)
    assert class_balanced_accuracy(P_E, Y_E) == pytest.approx((3 / 4 + 5 / 7) / 2)


def test_explicit_sizes_and_absent_class() -> None:
    table = group_accuracies(P, Y, A, num_classes=3, num_attributes=2)
    assert table.shape == (3, 2) and np.isnan(table[2]).all()
    np.testing.assert_allclose(table[:2], [[2 / 3, 1.0], [1.0, 3 / 4]], atol=1e-12)
    with pytest.raises(ValueError):
        group_accuracies(P, Y, A, num_classes=1, num_attributes=2)
    with pytest.raises(ValueError):
        group_accuracies(P, Y, A, num_classes=2, num_attributes=1)


@pytest.mark.parametrize("conv", [torch.tensor, list, lambda v: torch.tensor(v, dtype=torch.int32)])
def test_torch_and_list_inputs_match_numpy(conv) -> None:
    np.testing.assert_allclose(group_accuracies(conv(P_E), conv(Y_E), conv(A_E)), group_accuracies(P_E, Y_E, A_E))
    assert gba(conv(P_E), conv(Y_E), conv(A_E)) == gba(P_E, Y_E, A_E)
    assert wga(conv(P_E), conv(Y_E), conv(A_E)) == wga(P_E, Y_E, A_E)
    assert worst_class_accuracy(conv(P_E), conv(Y_E)) == worst_class_accuracy(P_E, Y_E)
    assert class_balanced_accuracy(conv(P_E), conv(Y_E)) == class_balanced_accuracy(P_E, Y_E)


def test_mixed_numpy_torch_inputs() -> None:
    assert gba(torch.tensor(P), Y, torch.tensor(A)) == pytest.approx(41 / 48)


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="same length"):
        gba(P[:-1], Y, A)
    with pytest.raises(ValueError, match="same length"):
        wga(P, Y, A[:-1])
    with pytest.raises(ValueError, match="same length"):
        class_balanced_accuracy(P, Y[1:])


def test_empty_input() -> None:
    e = np.array([], dtype=np.int64)
    with pytest.raises(ValueError, match="empty"):
        gba(e, e, e)
    with pytest.raises(ValueError, match="empty"):
        worst_class_accuracy(e, e)
    with pytest.raises(ValueError):
        group_accuracies(torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                         torch.zeros(0, dtype=torch.int64))


def test_float_labels_rejected() -> None:
    with pytest.raises(ValueError, match="integer"):
        gba(P, Y.astype(np.float64), A)
    with pytest.raises(ValueError, match="integer"):
        wga(P.astype(np.float32), Y, A)
    with pytest.raises(ValueError, match="integer"):
        class_balanced_accuracy(torch.tensor(P, dtype=torch.float32), torch.tensor(Y))
    with pytest.raises(ValueError, match="integer"):
        gba(P, Y, A.astype(bool))


def test_negative_labels_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        gba(P, Y - 1, A)


def test_perfect_and_all_wrong() -> None:
    assert gba(Y, Y, A) == 1.0 and wga(Y, Y, A) == 1.0
    assert gba(1 - Y, Y, A) == 0.0 and worst_class_accuracy(1 - Y, Y) == 0.0
