"""Speed-ups must not change results: the fast path against a plain reference loop, and stacked against separate."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gerne.core.objective import extrapolated_loss
from gerne.data.contract import load_tensor_dataset
from gerne.methods import build_method
from gerne.models import build_model
from gerne.train.loop import LoopConfig, fit, fit_stack
from tests.helpers import toy_dataset

EPOCHS = 3


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory):
    return load_tensor_dataset(toy_dataset(tmp_path_factory.mktemp("toy")))


def _model(splits, seed: int):
    torch.manual_seed(seed)
    return build_model("mlp", tuple(splits["train"].x.shape[1:]), 3, hidden=[32, 16])


def _method(splits, c: float, beta: float):
    method = build_method("gerne", c=c, beta=beta, batch_size=20)
    method.setup(splits["train"])
    return method


def reference_run(splits, seed: int, c: float, beta: float, lr: float = 0.05) -> list[float]:
    """Algorithm 1 written plainly: two batches, two forwards, Eq. 5, torch.optim.SGD; test accuracy per epoch."""
    model, method = _model(splits, seed), _method(splits, c, beta)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1.0e-2)
    gen = torch.Generator().manual_seed(seed)
    x, y = splits["train"].x, splits["train"].y
    steps = math.ceil(len(y) / method.samples_per_batch)
    accs = []
    for _ in range(EPOCHS):
        for _ in range(steps):
            ib, ilb = method.draw(gen, biased=True), method.draw(gen, biased=False)
            loss_b = F.cross_entropy(model(x[ib]), y[ib])
            loss_lb = F.cross_entropy(model(x[ilb]), y[ilb])
            loss = extrapolated_loss(loss_lb, loss_b, beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            accs.append((model(splits["test"].x).argmax(1) == splits["test"].y).double().mean().item())
    return accs


def fast_cfg(seed: int, lr: float = 0.05) -> LoopConfig:
    return LoopConfig(epochs=EPOCHS, lr=lr, seed=seed)


EVALS = ("train", "val", "test")


@pytest.mark.parametrize(("c", "beta"), [(0.5, 1.0), (1.0, 0.0), (0.5, -1.0)])
def test_fast_loop_matches_reference_loop(splits, c: float, beta: float) -> None:
    result = fit(_model(splits, 4), _method(splits, c, beta), splits["train"], {k: splits[k] for k in EVALS},
                 fast_cfg(4))
    ours = [h["test_acc"] for h in result.history]
    assert ours == pytest.approx(reference_run(splits, 4, c, beta), abs=2e-3)


def test_stacked_seeds_match_separate_runs(splits) -> None:
    seeds = [0, 1, 2]
    evals = {k: splits[k] for k in EVALS}
    separate = [fit(_model(splits, s), _method(splits, 0.5, 1.0), splits["train"], evals, fast_cfg(s)) for s in seeds]
    stacked = fit_stack([_model(splits, s) for s in seeds], [_method(splits, 0.5, 1.0) for _ in seeds], evals,
                        [fast_cfg(s) for s in seeds])
    for alone, together in zip(separate, stacked, strict=True):
        for h1, h2 in zip(alone.history, together.history, strict=True):
            assert h2["loss_ext"] == pytest.approx(h1["loss_ext"], rel=1e-4)
            assert h2["test_gba"] == pytest.approx(h1["test_gba"], abs=2e-3)
        for k, v in alone.states["last"].items():
            torch.testing.assert_close(together.states["last"][k], v, rtol=1e-3, atol=1e-4)


def test_stacked_grid_points_keep_their_own_c_beta(splits) -> None:
    grid = [(0.5, -1.0), (1.0, 0.0), (0.5, 1.0)]
    evals = {k: splits[k] for k in EVALS}
    separate = [fit(_model(splits, 0), _method(splits, c, b), splits["train"], evals, fast_cfg(0)) for c, b in grid]
    stacked = fit_stack([_model(splits, 0) for _ in grid], [_method(splits, c, b) for c, b in grid], evals,
                        [fast_cfg(0) for _ in grid])
    for alone, together in zip(separate, stacked, strict=True):
        assert [h["loss_ext"] for h in together.history] == pytest.approx([h["loss_ext"] for h in alone.history],
                                                                         rel=1e-4)


def test_stacking_refuses_different_learning_rates(splits) -> None:
    with pytest.raises(ValueError, match="same epochs, lr"):
        fit_stack([_model(splits, 0), _model(splits, 1)], [_method(splits, 0.5, 1.0)] * 2,
                  {k: splits[k] for k in EVALS}, [fast_cfg(0), fast_cfg(1, lr=0.1)])


def test_bf16_autocast_trains_close_to_fp32(splits) -> None:
    evals = {k: splits[k] for k in EVALS}
    fp32 = fit(_model(splits, 0), _method(splits, 0.5, 1.0), splits["train"], evals, fast_cfg(0))
    bf16 = fit(_model(splits, 0), _method(splits, 0.5, 1.0), splits["train"], evals,
               LoopConfig(epochs=EPOCHS, lr=0.05, seed=0, precision="bf16"))
    assert bf16.history[0]["loss_ext"] == pytest.approx(fp32.history[0]["loss_ext"], rel=0.05)
    assert bf16.history[-1]["test_acc"] > 0.6
