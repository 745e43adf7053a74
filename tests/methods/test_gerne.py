"""The GERNE update (Algorithm 1): batches, special cases β = −1 and (c = 1, β = 0), fused forward, Eq. 9 check."""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gerne.methods.gerne as gerne_module
from gerne import ConfigError, beta_bounds
from gerne.data.contract import Split
from gerne.methods import build_method
from gerne.methods.gerne import Gerne, has_batch_statistics

K, A, D = 3, 3, 4
COUNTS = np.array([[60, 8, 0],  # class 0: one empty group
                   [5, 50, 5],
                   [1, 9, 40]])
B = 6


def make_split(counts: np.ndarray = COUNTS, seed: int = 0) -> Split:
    y = np.concatenate([np.full(n, yy) for (yy, _), n in np.ndenumerate(counts)])
    a = np.concatenate([np.full(n, aa) for (_, aa), n in np.ndenumerate(counts)])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    y, a = y[perm], a[perm]
    x = rng.normal(size=(len(y), D)) + np.eye(K, D)[y] + 0.5 * np.eye(A, D)[a]
    return Split(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y), torch.as_tensor(a), K, A)


def make_model(seed: int = 0, bn: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(D, 8)]
    if bn:
        layers.append(nn.BatchNorm1d(8))
    layers += [nn.Tanh(), nn.Linear(8, K)]
    return nn.Sequential(*layers).double()


class Recorder(nn.Module):
    """Wraps a model and records the batch size of every forward call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[0])
        return self.inner(x)


def grads(model: nn.Module, loss: torch.Tensor) -> list[torch.Tensor]:
    return [g.detach().clone() for g in torch.autograd.grad(loss, list(model.parameters()))]


def manual_batches(method: Gerne, seed: int, both: bool = True) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Redraw the batches of one step by hand: biased first, then less-biased (Algorithm 1)."""
    g = torch.Generator().manual_seed(seed)
    probs = [method.p_b, method.p_lb] if both else [method.p_lb]
    out = []
    for p in probs:
        idx = method.sampler.draw(p, method.per_class, g)
        out.append((method.x[idx], method.y[idx]))
    return out


@pytest.fixture(scope="module")
def split() -> Split:
    return make_split()


# --------------------------------------------------------------------------------------------------- construction

def test_bad_batch_unit() -> None:
    with pytest.raises(ValueError, match="batch_unit"):
        Gerne(c=0.5, beta=0.0, batch_size=B, batch_unit="sample")


def test_bad_c_rejected() -> None:
    with pytest.raises(ValueError):
        Gerne(c=0.0, beta=0.0, batch_size=B)


def test_build_method() -> None:
    assert isinstance(build_method("gerne", c=0.5, beta=1.0, batch_size=B), Gerne)
    with pytest.raises(ConfigError, match="gerne"):
        build_method("gerne_v2", c=0.5, beta=1.0, batch_size=B)


@pytest.mark.parametrize(("unit", "per_class"), [("class", B), ("group", B * A)])
def test_batch_unit_sets_per_class_count(split: Split, unit: str, per_class: int) -> None:
    method = Gerne(c=0.5, beta=0.5, batch_size=B, batch_unit=unit)
    method.setup(split)
    assert method.per_class == per_class
    assert method.samples_per_batch == per_class * K
    model = Recorder(make_model())
    method.losses(model, torch.Generator().manual_seed(0))
    assert model.calls == [2 * per_class * K]  # one fused forward over both batches


def test_setup_rejects_beta_outside_eq9(split: Split) -> None:
    lo, hi = beta_bounds(COUNTS / COUNTS.sum(axis=1, keepdims=True), 0.5)
    for beta in (hi + 0.05, lo - 0.05):
        method = Gerne(c=0.5, beta=beta, batch_size=B)
        with pytest.raises(ConfigError, match=r"Eq\. 9"):
            method.setup(split)
        assert not hasattr(method, "p_b") and not hasattr(method, "p_lb")  # no batch distribution, no step possible
    Gerne(c=0.5, beta=hi, batch_size=B).setup(split)  # the bound itself is allowed


def test_setup_logs_empty_groups(split: Split, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gerne.methods.gerne"):
        Gerne(c=0.5, beta=0.0, batch_size=B).setup(split, what="toy train split")
    assert "empty" in caplog.text and "toy train split" in caplog.text


def test_setup_batch_distributions(split: Split) -> None:
    method = Gerne(c=0.5, beta=1.0, batch_size=B)
    method.setup(split)
    alpha = COUNTS / COUNTS.sum(axis=1, keepdims=True)
    torch.testing.assert_close(method.p_b.double(), torch.as_tensor(alpha), atol=1e-6, rtol=0)
    a_y = np.array([[2], [3], [3]])
    expected = np.where(COUNTS > 0, alpha + 0.5 * (1 / a_y - alpha), 0.0)
    torch.testing.assert_close(method.p_lb.double(), torch.as_tensor(expected), atol=1e-6, rtol=0)


# --------------------------------------------------------------------------------------------------- the loss

@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_losses_match_separate_forwards_and_eq7(split: Split, beta: float) -> None:
    method = Gerne(c=0.5, beta=beta, batch_size=B)
    method.setup(split)
    model = make_model()
    loss_ext, parts = method.losses(model, torch.Generator().manual_seed(3))
    g_ext = grads(model, loss_ext)

    (xb, yb), (xlb, ylb) = manual_batches(method, seed=3)
    l_b, l_lb = F.cross_entropy(model(xb), yb), F.cross_entropy(model(xlb), ylb)
    torch.testing.assert_close(parts[0], l_b.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(parts[1], l_lb.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(parts[2], ((1 + beta) * l_lb - beta * l_b).detach(), rtol=1e-10, atol=1e-12)
    g_b, g_lb = grads(model, l_b), grads(model, l_lb)
    for ge, gb, glb in zip(g_ext, g_b, g_lb, strict=True):
        torch.testing.assert_close(ge, glb + beta * (glb - gb), rtol=1e-9, atol=1e-12)


def test_fused_forward_equals_separate_forwards(split: Split, monkeypatch: pytest.MonkeyPatch) -> None:
    method = Gerne(c=0.5, beta=1.0, batch_size=B)
    method.setup(split)
    model = Recorder(make_model())
    loss_f, parts_f = method.losses(model, torch.Generator().manual_seed(5))
    g_f = grads(model, loss_f)
    assert model.calls == [2 * B * K]  # fused

    model.calls.clear()
    monkeypatch.setattr(gerne_module, "has_batch_statistics", lambda m: True)
    loss_s, parts_s = method.losses(model, torch.Generator().manual_seed(5))
    g_s = grads(model, loss_s)
    assert model.calls == [B * K, B * K]  # separate
    torch.testing.assert_close(parts_f, parts_s, rtol=1e-10, atol=1e-12)
    for a, b in zip(g_f, g_s, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_batchnorm_in_train_mode_disables_fusion(split: Split) -> None:
    inner = make_model(bn=True)
    assert has_batch_statistics(inner)
    inner.eval()
    assert not has_batch_statistics(inner)
    inner.train()
    assert not has_batch_statistics(make_model())

    method = Gerne(c=0.5, beta=1.0, batch_size=B)
    method.setup(split)
    model = Recorder(inner)
    _, parts = method.losses(model, torch.Generator().manual_seed(6))
    assert model.calls == [B * K, B * K]
    (xb, yb), (xlb, ylb) = manual_batches(method, seed=6)
    l_b, l_lb = F.cross_entropy(inner(xb), yb), F.cross_entropy(inner(xlb), ylb)
    torch.testing.assert_close(parts[:2], torch.stack([l_b, l_lb]).detach(), rtol=1e-10, atol=1e-12)
    # a fused forward would have normalised both batches together and given other losses
    logits = inner(torch.cat([xb, xlb]))
    fused_b = F.cross_entropy(logits[: xb.shape[0]], yb)
    assert abs(fused_b.item() - l_b.item()) > 1e-6


@pytest.mark.parametrize("track", [True, False])
def test_beta_minus_one_is_class_balanced_erm(split: Split, track: bool) -> None:
    method = Gerne(c=0.5, beta=-1.0, batch_size=B, track_both_losses=track)
    method.setup(split)
    model = make_model()
    erm_model = copy.deepcopy(model)
    loss_ext, parts = method.losses(model, torch.Generator().manual_seed(11))
    assert float(parts[2]) == float(parts[0])  # L_ext == L_b exactly
    assert torch.isfinite(parts[1]).item() is track  # L_lb only computed when tracked
    g_gerne = grads(model, loss_ext)

    # plain class-balanced ERM: B uniform draws per class, i.e. the group distribution alpha, same generator state
    g = torch.Generator().manual_seed(11)
    idx = method.sampler.draw(method.sampler.probabilities(method.sampler.alpha), B, g)
    assert torch.equal(torch.bincount(split.y[idx], minlength=K), torch.full((K,), B))
    l_erm = F.cross_entropy(erm_model(split.x[idx]), split.y[idx])
    assert l_erm.item() == pytest.approx(parts[0].item(), rel=1e-12)
    for a, b in zip(g_gerne, grads(erm_model, l_erm), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_resampling_c1_beta0_uses_group_uniform_batch(split: Split) -> None:
    method = Gerne(c=1.0, beta=0.0, batch_size=B, track_both_losses=False)
    method.setup(split)
    uniform = np.where(COUNTS > 0, 1.0 / (COUNTS > 0).sum(axis=1, keepdims=True), 0.0)
    torch.testing.assert_close(method.p_lb.double(), torch.as_tensor(uniform), atol=1e-7, rtol=0)

    # empirical group frequencies of the less-biased batches are group-uniform
    g = torch.Generator().manual_seed(0)
    n_batches = 2000
    idx = torch.cat([method.sampler.draw(method.p_lb, method.per_class, g) for _ in range(n_batches)])
    freq = np.zeros((K, A))
    np.add.at(freq, (split.y[idx].numpy(), split.a[idx].numpy()), 1.0)
    n = n_batches * B
    freq /= n
    se = np.sqrt(uniform * (1 - uniform) / n)
    assert (np.abs(freq - uniform) <= 4 * se + 1e-12).all(), freq

    # the step: only the less-biased batch, L_ext == L_lb, L_b not computed
    model = Recorder(make_model())
    loss_ext, parts = method.losses(model, torch.Generator().manual_seed(4))
    assert model.calls == [B * K]
    assert torch.isnan(parts[0]) and float(parts[2]) == float(parts[1])
    ((xlb, ylb),) = manual_batches(method, seed=4, both=False)
    assert F.cross_entropy(model.inner(xlb), ylb).item() == pytest.approx(loss_ext.item(), rel=1e-12)
