"""split_scores: the on-device evaluation agrees with the public metric functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gerne import class_balanced_accuracy, gba, group_accuracies, wga, worst_class_accuracy
from gerne.data.contract import Split
from gerne.train.evaluate import SCALARS, split_scores
from gerne.train.stack import ModelStack

# K = 3, A = 3, aligned attribute of class y is y (C-MNIST coding); group (2, 0) is empty
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
A = np.array([0, 0, 0, 1, 1, 1, 1, 0, 2, 2, 2, 1])
P = np.array([0, 0, 1, 2, 1, 1, 0, 1, 0, 2, 2, 2])
# aligned samples (a == y): idx 0,1,2 (preds 0,0,1), 4,5,6 (1,1,0), 9,10 (2,2): 6 of 8 correct
# conflicting: idx 3 (wrong), 7 (right), 8 (wrong), 11 (right): 2 of 4 correct


def make_split() -> Split:
    n = len(Y)
    return Split(torch.zeros(n, 2, 2, 1, dtype=torch.uint8), torch.tensor(Y), torch.tensor(A), 3, 3)


def scores(pred: np.ndarray, aligned: list[int]) -> tuple[dict[str, float], np.ndarray]:
    vec, table = split_scores(torch.tensor(pred), make_split(), torch.tensor(aligned))
    assert vec.shape == (len(SCALARS),)
    return dict(zip(SCALARS, vec.tolist(), strict=True)), table.numpy()


def test_agrees_with_public_metrics() -> None:
    s, table = scores(P, [0, 1, 2])
    np.testing.assert_allclose(table, group_accuracies(P, Y, A, 3, 3), equal_nan=True)
    assert math.isnan(table[2, 0])
    assert s["acc"] == pytest.approx(float((P == Y).mean()))
    assert s["gba"] == pytest.approx(gba(P, Y, A))
    assert s["wga"] == pytest.approx(wga(P, Y, A))
    assert s["cba"] == pytest.approx(class_balanced_accuracy(P, Y))
    assert s["worst_class"] == pytest.approx(worst_class_accuracy(P, Y))


def test_hand_values() -> None:
    s, table = scores(P, [0, 1, 2])
    # groups: (0,0) 2/3, (0,1) 0, (1,0) 1, (1,1) 2/3, (1,2) 0, (2,1) 1, (2,2) 1; (0,2) and (2,0) empty
    np.testing.assert_allclose(table, [[2 / 3, 0, np.nan], [1, 2 / 3, 0], [np.nan, 1, 1]], atol=1e-12)
    assert s["gba"] == pytest.approx((2 / 3 + 0 + 1 + 2 / 3 + 0 + 1 + 1) / 7)
    assert s["wga"] == 0.0
    assert s["acc"] == pytest.approx(8 / 12)
    assert s["cba"] == pytest.approx((2 / 4 + 3 / 5 + 3 / 3) / 3)
    assert s["worst_class"] == pytest.approx(1 / 2)
    assert s["aligned_acc"] == pytest.approx(6 / 8)
    assert s["conflicting_acc"] == pytest.approx(2 / 4)


def test_aligned_attribute_is_per_class() -> None:
    # aligned[y] need not be y: with aligned = [1, 0, 2], aligned samples are a == 1 in class 0 (idx 3, wrong),
    # a == 0 in class 1 (idx 7, right) and a == 2 in class 2 (idx 9, 10, right): 3 of 4
    s, _ = scores(P, [1, 0, 2])
    assert s["aligned_acc"] == pytest.approx(3 / 4)
    assert s["conflicting_acc"] == pytest.approx(5 / 8)


def test_no_conflicting_samples_gives_nan() -> None:
    y = torch.tensor([0, 0, 1, 1])
    split = Split(torch.zeros(4, 1), y, y.clone(), 2, 2)
    vec, _ = split_scores(torch.tensor([0, 1, 1, 1]), split, torch.tensor([0, 1]))
    s = dict(zip(SCALARS, vec.tolist(), strict=True))
    assert s["aligned_acc"] == pytest.approx(3 / 4)
    assert math.isnan(s["conflicting_acc"])


def test_predict_chunks_and_restores_mode() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 5))
    x = torch.randn(37, 3)
    model.train()
    got = ModelStack([model]).predict(x, chunk=8)[0]
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = model(x).argmax(1)
    assert torch.equal(got, expected)
