"""ResNet family: uint8 NHWC inputs, channels-last, frozen BatchNorm (SubpopBench), weights from the hub cache."""

import urllib.error
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gerne.errors import ConfigError
from gerne.methods.gerne import has_batch_statistics
from gerne.models import build_model
from gerne.models.resnet import IMAGENET_MEAN, IMAGENET_STD
from gerne.train.optimizers import ForeachSGD


def _images(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8)


def _bn_stats(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


@pytest.fixture(scope="module")
def resnet50() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("resnet50", (32, 32, 3), 3, pretrained=False)


def test_shapes_normalisation_and_channels_last(resnet50: torch.nn.Module) -> None:
    x = _images()
    assert resnet50.fc.in_features == 2048
    assert resnet50(x).shape == (4, 3)
    z = resnet50.normalise(x)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(z, (x.permute(0, 3, 1, 2).float() / 255 - mean) / std)
    torch.testing.assert_close(resnet50.normalise(x.float() / 255), z)
    assert z.is_contiguous(memory_format=torch.channels_last)
    assert resnet50.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert "scale" not in resnet50.state_dict()  # normalisation constants are not part of the checkpoint


def test_frozen_batchnorm_during_training(resnet50: torch.nn.Module) -> None:
    resnet50.train()
    assert resnet50.training and not has_batch_statistics(resnet50)
    before = _bn_stats(resnet50)
    bn_weight = resnet50.backbone.bn1.weight.detach().clone()
    opt = ForeachSGD(resnet50.parameters(), lr=1e-3, momentum=0.9)
    x, y = _images(), torch.tensor([0, 1, 2, 0])
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(resnet50(x), y).backward()
        assert resnet50.backbone.conv1.weight.grad is not None and resnet50.fc.weight.grad is not None
        opt.step()
    after = _bn_stats(resnet50)
    assert before.keys() == after.keys() and len(before) == 3 * 53  # ResNet-50 has 53 BatchNorm layers
    for k in before:
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0)
    assert not torch.equal(resnet50.backbone.bn1.weight, bn_weight)  # affine parameters still train
    with torch.no_grad():  # no batch statistics: a sample's output does not depend on the rest of the batch
        torch.testing.assert_close(resnet50(x)[:2], resnet50(x[:2]), rtol=1e-4, atol=1e-4)


def test_bf16_autocast_forward(resnet50: torch.nn.Module) -> None:
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = resnet50(_images(2))
    assert out.dtype == torch.bfloat16 and out.shape == (2, 3) and torch.isfinite(out.float()).all()


def test_batchnorm_trains_when_not_frozen() -> None:
    model = build_model("resnet18", (32, 32, 3), 2, pretrained=False, freeze_bn=False)
    assert has_batch_statistics(model)
    model.eval()
    assert not has_batch_statistics(model)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 1)])
def test_rejects_non_rgb_inputs(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="H×W×3"):
        build_model("resnet18", shape, 2, pretrained=False)


def test_input_size_resizes_on_the_device_and_none_keeps_the_data_side() -> None:
    x = _images(2, 32)
    torch.manual_seed(0)
    native = build_model("resnet18", (32, 32, 3), 10, pretrained=False)
    torch.manual_seed(0)
    upsampled = build_model("resnet18", (32, 32, 3), 10, pretrained=False, input_size=64)
    assert native.normalise(x).shape[-2:] == (32, 32) and upsampled.normalise(x).shape[-2:] == (64, 64)
    z = F.interpolate(native.normalise(x), size=(64, 64), mode="bilinear", align_corners=False)
    torch.testing.assert_close(upsampled.normalise(x), z)
    assert upsampled.normalise(x).is_contiguous(memory_format=torch.channels_last)
    assert upsampled(x).shape == (2, 10)
    for bad in (16, 64.0):
        with pytest.raises(ConfigError,
                           match=r"input_size of model resnet18: input should be (greater than or equal to 32|a valid "
                                 r"integer)"):
            build_model("resnet18", (32, 32, 3), 10, pretrained=False, input_size=bad)


def test_rejects_unknown_depth() -> None:
    from gerne.models.resnet import build_resnet

    with pytest.raises(ConfigError, match="depth"):
        build_resnet((32, 32, 3), 2, depth=34, pretrained=False)


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub under tmp_path whose downloads fail as they do offline; returns the checkpoint dir."""
    def no_network(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "hub" / "checkpoints"


def test_missing_weights_name_file_and_directory(offline_hub: Path) -> None:
    with pytest.raises(ConfigError) as info:
        build_model("resnet50", (32, 32, 3), 2)
    msg = str(info.value)
    assert "'resnet50-0676ba61.pth'" in msg and str(offline_hub) in msg and "pretrained: false" in msg
    assert "offline (test)" in msg


def test_weights_loaded_from_the_hub_cache(offline_hub: Path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(1)
    reference = resnet18(weights=None).state_dict()  # a checkpoint in torchvision's format (with its 1000-way fc)
    offline_hub.mkdir(parents=True)
    torch.save(reference, offline_hub / "resnet18-f37072fd.pth")
    loaded = build_model("resnet18", (32, 32, 3), 2).backbone.state_dict()
    assert loaded.keys() == {k for k in reference if not k.startswith("fc.")}
    for k, v in loaded.items():
        torch.testing.assert_close(v, reference[k], rtol=0, atol=0)


def test_corrupt_cached_weights(offline_hub: Path) -> None:
    offline_hub.mkdir(parents=True)
    (offline_hub / "resnet18-f37072fd.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"(?s)cannot read .*resnet18-f37072fd\.pth.*delete"):
        build_model("resnet18", (32, 32, 3), 2)
