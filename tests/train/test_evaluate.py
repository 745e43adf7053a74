"""split_scores: the on-device evaluation agrees with the public metric functions, and scoring R stacked runs at
once gives each run the same bits as scoring it alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gerne import class_balanced_accuracy, gba, group_accuracies, wga, worst_class_accuracy
from gerne.data.contract import Split
from gerne.train.evaluate import SCALARS, evaluate, split_scores
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
    vec, table = split_scores(torch.tensor(pred)[None], make_split(), torch.tensor(aligned))
    assert vec.shape == (1, len(SCALARS))
    assert table.shape == (1, 3, 3)
    return dict(zip(SCALARS, vec[0].tolist(), strict=True)), table[0].numpy()


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
    vec, _ = split_scores(torch.tensor([[0, 1, 1, 1]]), split, torch.tensor([0, 1]))
    s = dict(zip(SCALARS, vec[0].tolist(), strict=True))
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


def test_stacked_runs_score_as_if_alone() -> None:
    # 5 runs on 2,000 samples of 4 classes × 3 attributes, one group empty and one run that never predicts class 3
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (2000,), generator=g)
    a = torch.randint(0, 3, (2000,), generator=g)
    a[(y == 1) & (a == 2)] = 0
    split = Split(torch.zeros(2000, 1), y, a, 4, 3)
    noise = torch.rand(5, 2000, generator=g) < torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9])[:, None]
    preds = torch.where(noise, torch.randint(0, 4, (5, 2000), generator=g), y)
    preds[4][preds[4] == 3] = 0
    aligned = torch.tensor([0, 1, 2, 0])
    vectors, tables = split_scores(preds, split, aligned)
    assert vectors.shape == (5, len(SCALARS)) and tables.shape == (5, 4, 3)
    assert torch.isnan(tables[:, 1, 2]).all()
    assert len(set(vectors[:, 0].tolist())) == 5  # the runs differ
    for r in range(5):
        alone, table = split_scores(preds[r : r + 1], split, aligned)
        assert torch.equal(alone[0], vectors[r])
        assert torch.equal(table[0].nan_to_num(-1.0), tables[r].nan_to_num(-1.0))
    assert vectors[4, SCALARS.index("worst_class")] == 0.0


def test_evaluate_reads_every_run_and_split() -> None:
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Flatten(), nn.Linear(4, 3)) for _ in range(3)]
    split = Split(torch.randn(50, 2, 2), torch.randint(0, 3, (50,)), torch.randint(0, 3, (50,)), 3, 3)
    aligned = torch.tensor([0, 1, 2])
    metrics, tables = evaluate(ModelStack(models), {"val": split, "test": split}, aligned, batch_size=16)
    assert len(metrics) == 3 and len(tables) == 3
    for model, m, t in zip(models, metrics, tables, strict=True):
        with torch.no_grad():
            alone, table = split_scores(model(split.x).argmax(1)[None], split, aligned)
        assert m["val_acc"] == m["test_acc"] == alone[0, 0].item()
        assert m["test_gba"] == alone[0, 1].item()
        np.testing.assert_array_equal(t["val"], table[0].numpy())
