"""Optimisers: the foreach SGD and Adam (= torch.optim.SGD and Adam step for step, bit for bit), AdamW + linear
decay (= torch AdamW + LambdaLR), clipping at a norm."""

import pytest
import torch
import torch.nn.functional as F

from gerne.errors import ConfigError
from gerne.train.optimizers import ForeachAdam, ForeachSGD, build_optimizer

STEPS = 6


def _pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _backward(model: torch.nn.Module, step: int) -> None:
    g = torch.Generator().manual_seed(step)
    x, y = torch.randn(8, 6, generator=g) * 10, torch.randint(0, 3, (8,), generator=g)
    F.cross_entropy(model(x), y).backward()


def _assert_same(a: torch.nn.Module, b: torch.nn.Module, atol: float, step: int) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=atol, msg=f"step {step}")


def test_sgd_path_is_optim_sgd() -> None:
    ours, ref = _pair()
    opt = build_optimizer("sgd", ours.parameters(), lr=0.1, weight_decay=0.01, total_steps=STEPS)
    opt_ref = ForeachSGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    assert isinstance(opt.inner, ForeachSGD)
    for step in range(STEPS):
        for model, o in ((ours, opt), (ref, opt_ref)):
            o.zero_grad()
            _backward(model, step)
            o.step()
        _assert_same(ours, ref, 0.0, step)  # bit-identical


@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_adamw_linear_matches_torch(clip_norm: float | None) -> None:
    ours, ref = _pair()
    total = STEPS - 2  # the last steps run at lr 0
    opt = build_optimizer("adamw", ours.parameters(), lr=1e-2, weight_decay=1e-4, total_steps=total,
                          schedule="linear", clip_norm=clip_norm)
    opt_ref = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=1e-4, eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt_ref, lambda k: max(0.0, (total - k) / total))
    for step in range(STEPS):
        assert opt.lr == pytest.approx(sched.get_last_lr()[0])
        for model, o in ((ours, opt), (ref, opt_ref)):
            o.zero_grad()
            _backward(model, step)
            if o is opt_ref and clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(ref.parameters(), clip_norm)
            o.step()
        sched.step()
        _assert_same(ours, ref, 1e-7, step)
    assert opt.lr == 0.0


@pytest.mark.parametrize(("weight_decay", "schedule", "foreach"), [(0.0, "constant", True), (1e-2, "constant", False),
                                                                   (1e-4, "linear", True)])
def test_adam_is_torch_adam_bit_for_bit(weight_decay: float, schedule: str, foreach: bool) -> None:
    """DFA's Vanilla ERM and LfF optimiser: the foreach Adam equals torch.optim.Adam (its foreach and its
    per-tensor paths) to the last bit, with and without L2 decay, under a changing lr."""
    ours, ref = _pair()
    opt = build_optimizer("adam", ours.parameters(), lr=1e-2, weight_decay=weight_decay, total_steps=40,
                          schedule=schedule)
    inner = torch.optim.Adam(ref.parameters(), lr=1e-2, weight_decay=weight_decay, eps=1e-8, foreach=foreach)
    assert isinstance(opt.inner, ForeachAdam)
    for step in range(40):
        for group in inner.param_groups:
            group["lr"] = opt.lr
        for model, o in ((ours, opt), (ref, inner)):
            o.zero_grad()
            _backward(model, step)
            o.step()
        _assert_same(ours, ref, 0.0, step)  # bit-identical


def test_clipping_rescales_to_the_norm() -> None:
    ours, _ = _pair()
    opt = build_optimizer("sgd", ours.parameters(), lr=0.0, weight_decay=0.0, total_steps=1, clip_norm=0.05)
    _backward(ours, 0)
    raw = [p.grad.clone() for p in ours.parameters()]
    raw_norm = torch.linalg.vector_norm(torch.cat([g.flatten() for g in raw]))
    assert raw_norm > 0.05
    opt.step()
    clipped = torch.cat([p.grad.flatten() for p in ours.parameters()])
    torch.testing.assert_close(torch.linalg.vector_norm(clipped), torch.tensor(0.05), rtol=1e-4, atol=0)
    torch.testing.assert_close(clipped, torch.cat([g.flatten() for g in raw]) * 0.05 / raw_norm, rtol=1e-4, atol=1e-7)
    loose = build_optimizer("sgd", ours.parameters(), lr=0.0, weight_decay=0.0, total_steps=1, clip_norm=1e6)
    before = [p.grad.clone() for p in ours.parameters()]
    loose.step()  # below the threshold the gradients stay as they are
    for p, g in zip(ours.parameters(), before, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-6, atol=0)


def test_step_does_not_read_values_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clipping and the SGD update never convert a tensor to a Python number (a host sync on a GPU)."""
    ours, _ = _pair()
    opt = build_optimizer("sgd", ours.parameters(), lr=0.1, weight_decay=0.01, total_steps=4, schedule="linear",
                          clip_norm=1.0)
    _backward(ours, 0)

    def forbidden(*args: object) -> None:
        raise AssertionError("host sync")

    for name in ("item", "tolist", "__bool__", "__float__", "__int__"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    opt.step()
    monkeypatch.undo()
    assert opt.steps == 1 and opt.lr == pytest.approx(0.075)


@pytest.mark.parametrize(("name", "options", "match"), [
    ("adamx", {}, "unknown optimizer 'adamx'"),
    ("sgd", {"schedule": "cosine"}, "unknown lr schedule 'cosine'"),
    ("sgd", {"schedule": "linear", "total_steps": 0}, "total_steps"),
    ("adamw", {"clip_norm": 0.0}, "clip_norm"),
])
def test_rejects_bad_settings(name: str, options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_optimizer(name, torch.nn.Linear(2, 2).parameters(), lr=0.1, weight_decay=0.0,
                        **{"total_steps": 10, **options})


def test_rejects_frozen_parameters() -> None:
    with pytest.raises(ConfigError, match="no trainable"):
        build_optimizer("adamw", torch.nn.Linear(2, 2).requires_grad_(False).parameters(), lr=0.1, weight_decay=0.0,
                        total_steps=1)

@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.9, 1.0e-2), (0.0, 0.0), (0.9, 0.0), (0.0, 2.0e-2)])
def test_matches_torch_sgd(momentum: float, weight_decay: float) -> None:
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref.load_state_dict(ours.state_dict())
    opt_ours = ForeachSGD(ours.parameters(), lr=0.1, momentum=momentum, weight_decay=weight_decay)
    opt_ref = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for step in range(5):
        x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
        for model, opt in ((ours, opt_ours), (ref, opt_ref)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=f"step {step}")


def test_rejects_frozen_models() -> None:
    layer = torch.nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        ForeachSGD(layer.parameters(), lr=0.1)
