"""Our foreach SGD matches torch.optim.SGD step for step."""

import pytest
import torch

from gerne.train.optim import SGD


@pytest.mark.parametrize(("momentum", "weight_decay"), [(0.9, 1.0e-2), (0.0, 0.0), (0.9, 0.0), (0.0, 2.0e-2)])
def test_matches_torch_sgd(momentum: float, weight_decay: float) -> None:
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    ref.load_state_dict(ours.state_dict())
    opt_ours = SGD(ours.parameters(), lr=0.1, momentum=momentum, weight_decay=weight_decay)
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
        SGD(layer.parameters(), lr=0.1)
