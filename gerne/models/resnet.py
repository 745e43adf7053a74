"""torchvision ResNet-18/-50 for image benchmarks (METHOD.md Appendix F; BENCHMARKS.md SubpopBench protocol).

Inputs follow the dataset contract: uint8 images N×H×W×3. They are read as float, /255 and ImageNet-normalised on
the model's device; the NHWC storage is exactly the channels-last layout of N×3×H×W, so convolutions run
channels-last without a copy. As in SubpopBench, every BatchNorm layer stays in eval mode during training: running
statistics never change and outputs do not depend on the batch (its affine weights still train). Head:
Linear(features → K). ``input_size`` resizes the images on the device (bilinear, after normalisation) to that side
before the backbone, e.g. 224 for 32 px CIFAR images at ImageNet's resolution (49× the compute); None keeps the
data's size, as LfF and DFA train C-CIFAR-10 at 32 px.
"""

from __future__ import annotations

import torch
from torch import nn

from gerne.errors import ConfigError
from gerne.models.pretrained import torch_hub_state_dict

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEPTHS = (18, 50)


class ResNet(nn.Module):
    """ResNet backbone (``backbone``, fc removed) + linear head ``fc``; ``features(x)`` gives the pooled features."""

    def __init__(self, num_classes: int, depth: int = 50, pretrained: bool = True, freeze_bn: bool = True,
                 input_size: int | None = None) -> None:
        super().__init__()
        if input_size is not None and (not isinstance(input_size, int) or input_size < 32):
            raise ConfigError(f"ResNet input_size must be an integer side of at least 32 px (or null), got "
                              f"{input_size}")
        self.input_size = input_size
        from torchvision import models  # imported here: torchvision.models takes seconds to import

        if depth not in DEPTHS:
            raise ConfigError(f"ResNet depth must be one of {DEPTHS}, got {depth}")
        backbone = getattr(models, f"resnet{depth}")(weights=None)
        if pretrained:
            # IMAGENET1K_V1: the weights behind torchvision's legacy ``pretrained=True``, which SubpopBench uses
            url = getattr(models, f"ResNet{depth}_Weights").IMAGENET1K_V1.url
            backbone.load_state_dict(torch_hub_state_dict(url, f"ImageNet ResNet-{depth}"))
        self.num_features = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.fc = nn.Linear(self.num_features, num_classes)
        self.freeze_bn = freeze_bn
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        # (x/255 − mean)/std = x·scale + shift; uint8 → float happens on the device (not saved in the state dict)
        self.register_buffer("scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("shift", -torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) / std, persistent=False)
        self.to(memory_format=torch.channels_last)
        self.train()

    def train(self, mode: bool = True) -> ResNet:
        """Set training mode; BatchNorm layers stay in eval mode if ``freeze_bn`` (SubpopBench)."""
        super().train(mode)
        if self.freeze_bn:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Images N×H×W×3 (uint8 pixels, or floats in [0, 1]) → ImageNet-normalised float N×3×H×W, channels-last."""
        if x.dim() != 4 or x.shape[-1] != 3:
            raise ValueError(f"ResNet expects images N×H×W×3, got shape {tuple(x.shape)}")
        scale = self.scale if not x.is_floating_point() else self.scale * 255.0
        x = torch.addcmul(self.shift, x.permute(0, 3, 1, 2).float(), scale)
        if self.input_size is not None and tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                                          align_corners=False)
        return x.contiguous(memory_format=torch.channels_last)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features N×``num_features`` (2048 for ResNet-50, 512 for ResNet-18)."""
        return self.backbone(self.normalise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits N×K."""
        return self.fc(self.features(x))


def build_resnet(input_shape: tuple[int, ...], num_classes: int, *, depth: int = 50, pretrained: bool = True,
                 freeze_bn: bool = True, input_size: int | None = None) -> ResNet:
    """Registry entry: ``input_shape`` is H×W×3 (the dataset contract)."""
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigError(f"ResNet needs RGB images H×W×3, the data has samples of shape {tuple(input_shape)}")
    return ResNet(num_classes, depth=depth, pretrained=pretrained, freeze_bn=freeze_bn, input_size=input_size)
