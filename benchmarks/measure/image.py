"""Image models on a GPU (issue 3): images/s of the data path against images/s of the training step.

Waterbirds' shape by default: ResNet-50 at 224 px, B = 16 per class, two batches per GERNE step (64 images).
The data is random uint8 pixels in the dataset contract's layout (N×H×W×3); only shapes matter for speed, so no
download or pretrained weights are needed. The training step is the real one (:func:`gerne.train.loop.fit_stack`),
timed with fp32 and with bf16 autocast (channels-last in both: the model's layout). The data path is what a step does
before the model: the sampler's two draws, the gather and the uint8 → normalised float conversion — once with the
array held on the device (how our training runs), once from pinned host memory with an asynchronous copy (the
fallback for a dataset larger than the device's memory).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from benchmarks.measure.timing import device_sync
from gerne.data.contract import Split
from gerne.methods import build_method
from gerne.methods.batches import gather
from gerne.models import build_model
from gerne.train.loop import LoopConfig, fit_stack

PRECISIONS = ("fp32", "bf16")


def synthetic_split(n: int, size: int, device: torch.device, seed: int = 0) -> Split:
    """``n`` random uint8 images ``size``×``size``×3, two classes × two attributes in equal groups."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, size, size, 3), dtype=torch.uint8, generator=gen)
    idx = torch.arange(n)
    return Split(x, idx % 2, (idx // 2) % 2, 2, 2).to(device)


def data_path_rate(train: Split, normalise: Any, batch_size: int, device: torch.device, steps: int) -> float:
    """Images/s of the sampler draws, gather, (host → device copy) and conversion of both batches of a step."""
    method = build_method("gerne", c=0.5, beta=1.0, batch_size=batch_size)
    method.setup(train)
    gen = torch.Generator(device=train.y.device).manual_seed(0)
    host = train.x.device.type != device.type
    rows = 2 * method.samples_per_batch
    # host array: gather into two pinned buffers in turn; a buffer is refilled once its last copy has finished
    buffers = [torch.empty((rows, *train.x.shape[1:]), dtype=train.x.dtype).pin_memory() for _ in range(2 * host)]
    copied = [torch.cuda.Event() if host else None for _ in buffers]
    turn = [0]

    def step() -> None:
        idx = torch.cat([method.draw(gen, biased=True), method.draw(gen, biased=False)])
        if not host:
            normalise(gather(train.x, train.y, idx)[0])
            return
        k = turn[0] = 1 - turn[0]
        copied[k].synchronize()
        torch.index_select(train.x, 0, idx, out=buffers[k])
        normalise(buffers[k].to(device, non_blocking=True))
        copied[k].record()

    step()
    device_sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    device_sync(device)
    return steps * rows / (time.perf_counter() - start)


def calibrate_batch_norm(model: nn.Module, x: torch.Tensor) -> None:
    """Running statistics of every BatchNorm layer from one batch, as pretrained weights bring them.

    Without weights, frozen BatchNorm (mean 0, variance 1) normalises nothing and a random ResNet-50's activations
    overflow; the step's speed is the same either way, but a benchmark should not time a diverging run.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: this one batch
        m.train()
    with torch.no_grad():
        model(x)
    model.train()  # the model's own mode again (BatchNorm frozen where it freezes it)


def model_rate(train: Split, model_name: str, precision: str, batch_size: int, steps: int) -> float:
    """Images/s of the real GERNE training step (Eq. 5, backward, SGD) of ``model_name`` at ``precision``."""
    def fit(n_steps: int) -> float:
        torch.manual_seed(0)
        model = build_model(model_name, tuple(train.x.shape[1:]), train.num_classes, pretrained=False)
        calibrate_batch_norm(model.to(train.y.device), train.x[:64])
        # β = −0.5 weighs both batches positively: a random ResNet-50 maximising L_b (β > 0) diverges in steps
        method = build_method("gerne", c=0.5, beta=-0.5, batch_size=batch_size)
        method.setup(train)
        cfg = LoopConfig(epochs=1, lr=1.0e-3, steps_per_epoch=n_steps, precision=precision, eval_batch_size=256)
        result = fit_stack([model], [method], {"train": train}, [cfg], desc="image bench")[0]
        return n_steps * 2 * method.samples_per_batch / result.seconds_per_epoch

    fit(2)  # warm-up: cuDNN algorithm choice, allocator, lazy initialisation
    return fit(steps)


def image_rates(device: torch.device, model: str = "resnet50", size: int = 224, n: int = 1024,
                batch_size: int = 16, steps: int = 30) -> dict[str, Any]:
    """Model images/s (fp32 and bf16) and data-path images/s (on-device and pinned-host arrays) for one shape."""
    on_device = synthetic_split(n, size, device)
    probe = build_model(model, (size, size, 3), 2, pretrained=False).to(device)
    result: dict[str, Any] = {"model": model, "image_size": size, "images_per_step": 4 * batch_size}
    result["data_on_device_images_per_s"] = data_path_rate(on_device, probe.normalise, batch_size, device, 200)
    if device.type == "cuda":
        pinned = Split(on_device.x.cpu().pin_memory(), on_device.y.cpu(), on_device.a.cpu(), 2, 2)
        result["data_pinned_host_images_per_s"] = data_path_rate(pinned, probe.normalise, batch_size, device, 200)
    for precision in PRECISIONS:
        result[f"model_{precision}_images_per_s"] = model_rate(on_device, model, precision, batch_size, steps)
    return result


def image_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows of the benchmark table (value, floor, ratio columns)."""
    name, px, per_step = r["model"], r["image_size"], r["images_per_step"]
    fp32, bf16 = r["model_fp32_images_per_s"], r["model_bf16_images_per_s"]
    rows = [(f"{name} GERNE step ({per_step} images, {px} px), fp32, channels-last, images/s", f"{fp32:,.0f}", "", ""),
            (f"{name} GERNE step, bf16 autocast, channels-last, images/s", f"{bf16:,.0f}", "",
             f"{bf16 / fp32:.2f}× fp32")]
    for key, label in (("data_on_device_images_per_s", "data path, array on the device"),
                       ("data_pinned_host_images_per_s", "data path, pinned host array + async copy")):
        if key in r:
            rows.append((f"{name} {label} (draw + gather + normalise), images/s", f"{r[key]:,.0f}", "",
                         f"{r[key] / bf16:.0f}× the bf16 step"))
    return rows
