"""Pretrained weights from the usual caches (torch hub, Hugging Face), never fetched behind the user's back offline.

BENCHMARKS.md: every pretrained weight file is downloaded by the user's machine. When neither the cache nor the
network has it, the run stops with a ``ConfigError`` that names the file, the directory to put it in, and the
alternative ``pretrained: false`` (random initialisation).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import torch

from gerne.errors import ConfigError

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}


def torch_hub_state_dict(url: str, what: str) -> dict[str, torch.Tensor]:
    """State dict of ``url`` from ``torch.hub.get_dir()/checkpoints/`` (downloaded there, hash-checked, if absent)."""
    directory = Path(torch.hub.get_dir()) / "checkpoints"
    filename = os.path.basename(urlparse(url).path)
    path = directory / filename
    existed = path.is_file()
    try:
        return torch.hub.load_state_dict_from_url(url, model_dir=str(directory), map_location="cpu", progress=False,
                                                  check_hash=True, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        if existed:
            raise ConfigError(f"cannot read the {what} weights at {path} ({err}); delete the file and place an intact "
                              f"copy of {url} there, or set `pretrained: false`") from err
        raise ConfigError(f"{what} weights are not in the torch hub cache and could not be downloaded ({err}). Place "
                          f"the file '{filename}' (from {url}) in the directory {directory} (TORCH_HOME moves it), or "
                          "set `pretrained: false` to start from random weights") from err


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (HF_HUB_CACHE, else HF_HOME/hub, else default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hf_offline() -> bool:
    """True if HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set (read now, not at import of ``huggingface_hub``)."""
    from huggingface_hub import constants

    env = (os.environ.get(k, "").strip().lower() for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(v in _TRUE for v in env) or bool(constants.HF_HUB_OFFLINE)


def hf_from_pretrained(load: Callable[..., T], name: str, **kwargs: Any) -> T:
    """``load(name, ...)`` (a ``from_pretrained``) on the Hugging Face cache; missing files → ``ConfigError``."""
    cache = hf_cache_dir()
    try:
        return load(name, cache_dir=str(cache), local_files_only=hf_offline(), **kwargs)
    except OSError as err:
        raise ConfigError(f"pretrained '{name}' is not in the Hugging Face cache {cache} and could not be downloaded "
                          f"({err}). Fetch it where the network is reachable with `huggingface-cli download {name}` "
                          f"(or `hf download {name}`) into that cache (HF_HOME or HF_HUB_CACHE select it) and copy the "
                          f"cache to {cache}, or set `pretrained: false` to start from random weights") from err
