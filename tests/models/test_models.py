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


def test_mlp_input_scale() -> None:
    """input_scale = 1/255 is LfF's and DFA's double division: the net sees pixel/255/255."""
    torch.manual_seed(0)
    model = build_model("mlp", (28, 28, 3), 10, hidden=[100, 100, 16], input_scale=1.0 / 255.0)
    x = torch.randint(0, 256, (4, 28, 28, 3), dtype=torch.uint8)
    torch.testing.assert_close(model(x), model.net(x.flatten(1).float() / 255.0 / 255.0))
    torch.testing.assert_close(model(x), model(x.float() / 255.0))
    assert not torch.allclose(model(x), model.net(x.flatten(1).float() / 255.0))


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan"), True, "1/255"])
def test_mlp_bad_input_scale(scale: object) -> None:
    with pytest.raises(ConfigError, match="input_scale"):
        build_model("mlp", (28, 28, 3), 10, input_scale=scale)


def test_unknown_model_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'resnet9'.*mlp"):
        build_model("resnet9", (28, 28, 3), 10)


@pytest.mark.parametrize(("options", "message"), [
    ({"hidden": [100, True]}, r"model_options.hidden\[1\] of model mlp: input should be a valid integer, got True"),
    ({"hidden": [100, 0]}, r"model_options.hidden\[1\] of model mlp: input should be greater than or equal to 1"),
    ({"hidden": [2.5]}, r"model_options.hidden\[0\] of model mlp"),
])
def test_mlp_widths_are_whole_numbers_of_at_least_one(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model("mlp", (28, 28, 3), 10, **options)


def test_an_option_the_family_does_not_take_is_left_to_its_factory() -> None:
    """A checkpoint's options are retried without ``pretrained`` on a TypeError (the MLP has none)."""
    with pytest.raises(TypeError, match="pretrained"):
        build_model("mlp", (28, 28, 3), 10, pretrained=False)
