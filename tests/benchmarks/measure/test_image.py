"""Image-model speed rows (run on a GPU by benchmarks/device.sh): the same code, tiny shapes, on the CPU."""

from __future__ import annotations

import math

import torch
from torch import nn

from benchmarks.measure.image import calibrate_batch_norm, image_rates, image_rows, synthetic_split
from gerne.models import build_model


def test_synthetic_split_has_equal_groups() -> None:
    split = synthetic_split(16, 8, torch.device("cpu"))
    assert split.x.shape == (16, 8, 8, 3) and split.x.dtype == torch.uint8
    assert torch.bincount(split.y * 2 + split.a).tolist() == [4, 4, 4, 4]


def test_calibrated_batch_norm_normalises_and_stays_frozen() -> None:
    torch.manual_seed(0)
    model = build_model("resnet18", (32, 32, 3), 2, pretrained=False)
    x = synthetic_split(8, 32, torch.device("cpu")).x
    calibrate_batch_norm(model, x)
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert model.training and not any(m.training for m in bn)  # frozen again, as SubpopBench trains
    first = model.backbone.bn1
    with torch.no_grad():
        h = first(model.backbone.conv1(model.normalise(x)))
    assert abs(h.mean().item()) < 0.1 and abs(h.var().item() - 1) < 0.1  # the batch it was calibrated on
    before = [m.running_var.clone() for m in bn]
    with torch.no_grad():
        model(x.flip(0))
    assert all(torch.equal(a, m.running_var) for a, m in zip(before, bn, strict=True))


def test_image_rates_and_rows_on_cpu() -> None:
    r = image_rates(torch.device("cpu"), model="resnet18", size=32, n=16, batch_size=2, steps=1)
    for key in ("data_on_device_images_per_s", "model_fp32_images_per_s", "model_bf16_images_per_s"):
        assert r[key] > 0 and math.isfinite(r[key]), key
    assert "data_pinned_host_images_per_s" not in r  # a host array is the device array on a CPU
    rows = image_rows(r)
    assert [row[0].split(",")[0] for row in rows[:2]] == ["resnet18 GERNE step (8 images", "resnet18 GERNE step"]
    assert rows[1][3].endswith("× fp32") and len(rows) == 3
