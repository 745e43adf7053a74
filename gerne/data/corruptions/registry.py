"""The corruption registry of Corrupted CIFAR-10 (LfF's protocol on Hendrycks' CIFAR-10-C), severity 5, CIFAR
constants.

``CORRUPTIONS`` maps a name to ``f(image, rng) -> floats on 0–255``; :func:`corrupt` applies one per image,
clipping and truncating to uint8 as CIFAR-10-C does. ``TYPES`` are LfF's two lists, in LfF's order (class c is
aligned with the list's corruption c). Every image draws from its own generator, ``default_rng([seed, id])``, so
the output is byte-identical for a seed whatever the number of worker processes or the order of the work.
Written for this project on scikit-image, SciPy, OpenCV and Pillow (``imagecorruptions`` has ImageNet-C's
constants and does not run on current NumPy; see ``../shared/spec/BENCHMARKS.md``).
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from gerne.data.corruptions import blur, digital, frost, noise, weather
from gerne.errors import ConfigError

Corruption = Callable[[np.ndarray, np.random.Generator], np.ndarray]

CORRUPTIONS: dict[str, Corruption] = {
    "snow": weather.snow, "fog": weather.fog, "spatter": weather.spatter,
    "brightness": digital.brightness, "contrast": digital.contrast, "elastic": digital.elastic,
    "jpeg": digital.jpeg, "pixelate": digital.pixelate, "saturate": digital.saturate, "original": digital.original,
    "gaussian_noise": noise.gaussian_noise, "shot_noise": noise.shot_noise, "impulse_noise": noise.impulse_noise,
    "speckle_noise": noise.speckle_noise, "gaussian_blur": blur.gaussian_blur, "defocus_blur": blur.defocus_blur,
    "glass_blur": blur.glass_blur, "motion_blur": blur.motion_blur, "zoom_blur": blur.zoom_blur,
}
NEEDS_TEXTURES = {"frost": frost.frost}  # corruptions that take the frost photographs as a third argument
TYPES: dict[str, tuple[str, ...]] = {
    "type0": ("snow", "frost", "fog", "brightness", "contrast", "spatter", "elastic", "jpeg", "pixelate", "saturate"),
    "type1": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur", "defocus_blur",
              "glass_blur", "motion_blur", "zoom_blur", "original"),
}
CHUNK = 256  # images per task of a worker process
KNOWN = (*CORRUPTIONS, *NEEDS_TEXTURES)


def corruption_list(spec: str | Sequence[str]) -> tuple[str, ...]:
    """A list's corruption names: ``"type0"`` / ``"type1"`` or explicit names, each known and none twice."""
    names = TYPES.get(spec) if isinstance(spec, str) else tuple(spec)
    if names is None:
        raise ConfigError(f"corruption list {spec!r} is neither {' nor '.join(TYPES)} nor a list of names")
    unknown = [n for n in names if n not in KNOWN]
    if unknown or len(set(names)) != len(names):
        what = f"unknown corruption(s) {unknown}" if unknown else f"a corruption listed twice in {list(names)}"
        raise ConfigError(f"{what}; choose from {sorted(KNOWN)}")
    return names


def resolve(names: Sequence[str], textures: Sequence[np.ndarray] | None = None) -> list[Corruption]:
    """The functions of ``names``; frost needs ``textures`` (:func:`gerne.data.corruptions.frost.load_textures`)."""
    out = []
    for name in corruption_list(names):
        if name in NEEDS_TEXTURES:
            if not textures:
                raise ConfigError(f"corruption {name!r} needs its texture images; pass the frost textures")
            out.append(functools.partial(NEEDS_TEXTURES[name], textures=textures))
        else:
            out.append(CORRUPTIONS[name])
    return out


def corrupt_one(fn: Corruption, image: np.ndarray, seed: int, image_id: int) -> np.ndarray:
    """``fn`` applied to one uint8 image with its own generator, clipped and truncated to uint8."""
    out = fn(image, np.random.default_rng([seed, int(image_id)]))
    return np.clip(out, 0.0, 255.0).astype(np.uint8)


_WORKER: dict[str, list[Corruption]] = {}


def _init_worker(names: Sequence[str], textures: Sequence[np.ndarray] | None) -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    _WORKER["fns"] = resolve(names, textures)


def _chunk(images: np.ndarray, which: np.ndarray, ids: np.ndarray, seed: int,
           fns: list[Corruption] | None = None) -> np.ndarray:
    fns = fns if fns is not None else _WORKER["fns"]
    return np.stack([corrupt_one(fns[w], img, seed, i) for img, w, i in zip(images, which, ids, strict=True)])


def corrupt(images: np.ndarray, which: np.ndarray, names: Sequence[str], seed: int, ids: np.ndarray | None = None,
            textures: Sequence[np.ndarray] | None = None, workers: int = 1, progress=None) -> np.ndarray:
    """Corrupt image ``k`` of ``images`` (uint8 N×H×W×3) with ``names[which[k]]``, drawing from
    ``default_rng([seed, ids[k]])`` (``ids`` default 0..N-1); ``workers`` processes (1: in this one);
    ``progress`` (a tqdm bar) advances by the images done."""
    which = np.asarray(which, dtype=np.int64)
    ids = np.arange(len(images)) if ids is None else np.asarray(ids, dtype=np.int64)
    if len(which) != len(images) or len(ids) != len(images):
        raise ValueError(f"{len(images)} images need as many corruption indices and ids")
    if len(which) and (which.min() < 0 or which.max() >= len(names)):
        raise ValueError(f"corruption indices must lie in 0..{len(names) - 1}")
    out = np.empty_like(images)
    spans = [(lo, min(lo + CHUNK, len(images))) for lo in range(0, len(images), CHUNK)]
    if workers <= 1:
        fns = resolve(names, textures)
        for lo, hi in spans:
            out[lo:hi] = _chunk(images[lo:hi], which[lo:hi], ids[lo:hi], seed, fns)
            if progress is not None:
                progress.update(hi - lo)
        return out
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch's threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(tuple(names), textures)) as pool:
        futures = [(lo, hi, pool.submit(_chunk, images[lo:hi], which[lo:hi], ids[lo:hi], seed))
                   for lo, hi in spans]
        for lo, hi, future in futures:
            out[lo:hi] = future.result()
            if progress is not None:
                progress.update(hi - lo)
    return out
