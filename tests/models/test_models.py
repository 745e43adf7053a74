import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gerne.errors import ConfigError
from gerne.models import build_model, mlp


class FirstLayerRows(TorchDispatchMode):
    """The row counts of the products that read the 2,352 pixel features."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in ("addmm", "mm") and args[-2].shape[-1] == 28 * 28 * 3:
            self.rows.append(args[-2].shape[0])
        return func(*args, **(kwargs or {}))


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


def test_mlp_scores_a_large_chunk_in_cache_sized_blocks_with_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inference on a CPU converts and multiplies the pixels block by block (equal blocks of at least
    MIN_BLOCK_ROWS / 2 rows); training never does (the weight gradient would be summed in another order)."""
    torch.manual_seed(0)
    model = build_model("mlp", (28, 28, 3), 10)
    x = torch.randint(0, 256, (1000, 28, 28, 3), dtype=torch.uint8)
    with torch.no_grad():
        whole = model(x)  # 1000 rows × 9,408 B: under the default 8 MiB, one product
        monkeypatch.setattr(mlp, "BLOCK_BYTES", 300 * 28 * 28 * 3 * 4)  # 300 rows a block
        with FirstLayerRows() as seen:
            blocked = model(x)
    assert seen.rows == [250, 250, 250, 250]
    assert torch.equal(blocked, whole)
    monkeypatch.setattr(mlp, "BLOCK_BYTES", 1)  # never fewer rows than MIN_BLOCK_ROWS
    with torch.no_grad(), FirstLayerRows() as seen:
        small = model(x[:200])
    assert seen.rows == [50, 50, 50, 50] and mlp.MIN_BLOCK_ROWS == 64  # ⌈200 / 64⌉ = 4 equal blocks
    assert torch.equal(small, whole[:200])
    with FirstLayerRows() as seen:
        model(x).sum().backward()
    assert seen.rows[0] == 1000  # the training forward: one product over the whole batch


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
