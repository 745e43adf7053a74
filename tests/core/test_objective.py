"""The extrapolated loss (Eq. 5) and its gradient (Eq. 7)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gerne.core.objective import batch_weights, extrapolated_loss


@pytest.mark.parametrize("beta", [-1.0, 0.0, 0.5, 1.0, 2.5, -0.3])
def test_extrapolated_loss_value(beta: float) -> None:
    l_lb, l_b = torch.tensor(0.8, dtype=torch.float64), torch.tensor(1.7, dtype=torch.float64)
    got = extrapolated_loss(l_lb, l_b, beta)
    assert float(got) == pytest.approx((1 + beta) * 0.8 - beta * 1.7, abs=1e-12)
    assert float(got) == pytest.approx(0.8 + beta * (0.8 - 1.7), abs=1e-12)


def test_extrapolated_loss_hand_value() -> None:
    # L_lb = 2, L_b = 3, β = 1.5 → 2 + 1.5·(2 − 3) = 0.5
    assert float(extrapolated_loss(torch.tensor(2.0), torch.tensor(3.0), 1.5)) == pytest.approx(0.5)


@pytest.mark.parametrize("beta", [-1.0, 0.0, 1.0, 2.0])
def test_batch_weights(beta: float) -> None:
    w_b, w_lb = batch_weights(beta)
    assert (w_b, w_lb) == (-beta, 1 + beta)
    assert w_lb * 0.8 + w_b * 1.7 == pytest.approx(float(extrapolated_loss(torch.tensor(0.8), torch.tensor(1.7), beta)))


def _grads(model: nn.Module, loss: torch.Tensor) -> list[torch.Tensor]:
    return [g.detach().clone() for g in torch.autograd.grad(loss, list(model.parameters()))]


@pytest.mark.parametrize("beta", [-1.0, 0.0, 0.7, 2.0])
def test_gradient_is_eq7(beta: float) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    xb, yb = torch.randn(12, 5, dtype=torch.float64), torch.randint(0, 3, (12,))
    xlb, ylb = torch.randn(12, 5, dtype=torch.float64), torch.randint(0, 3, (12,))

    g_b = _grads(model, F.cross_entropy(model(xb), yb))
    g_lb = _grads(model, F.cross_entropy(model(xlb), ylb))
    loss_ext = extrapolated_loss(F.cross_entropy(model(xlb), ylb), F.cross_entropy(model(xb), yb), beta)
    g_ext = _grads(model, loss_ext)
    assert any(float((b - lb).abs().max()) > 1e-3 for b, lb in zip(g_b, g_lb, strict=True))  # non-trivial
    for ge, gb, glb in zip(g_ext, g_b, g_lb, strict=True):
        torch.testing.assert_close(ge, glb + beta * (glb - gb), rtol=1e-10, atol=1e-12)
