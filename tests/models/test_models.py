import pytest
import torch

from gerne.errors import ConfigError
from gerne.models import build_model


def test_mlp_shapes_and_uint8_scaling() -> None:
    torch.manual_seed(0)
    model = build_model("mlp", (28, 28, 3), 10, hidden=[100, 100, 16])
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [100, 100, 16, 10]
    x = torch.randint(0, 256, (4, 28, 28, 3), dtype=torch.uint8)
    torch.testing.assert_close(model(x), model(x.float() / 255.0))


def test_unknown_model_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'resnet9'.*mlp"):
        build_model("resnet9", (28, 28, 3), 10)
