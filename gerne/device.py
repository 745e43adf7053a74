"""Device names (e.g. a config's ``studies.device``): checked when the config is parsed, resolved before a run.

:func:`check_device_name` is the schema check (no torch import, so loading params.yaml stays cheap);
:data:`DeviceName` is the same check as an annotated pydantic type. :func:`resolve_device` maps ``auto`` to CUDA
if available, else the CPU, and refuses a GPU that is not there with a message naming the key and the fix,
instead of a torch traceback in the middle of a stage.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator

from gerne.errors import ConfigError

if TYPE_CHECKING:
    import torch

ALLOWED = ("auto", "cpu", "cuda", "cuda:<n>", "mps")
_PATTERN = re.compile(r"auto|cpu|cuda|cuda:\d+|mps")


def check_device_name(name: str) -> str:
    """``name`` if it is one of :data:`ALLOWED` (``cuda:<n>`` with a GPU index), else a ValueError listing them."""
    if not isinstance(name, str) or not _PATTERN.fullmatch(name):
        hint = " (a GPU is 'cuda', or 'cuda:0' for the first one)" if name in ("gpu", "GPU", "cuda:") else ""
        raise ValueError(f"device '{name}' is not one of {', '.join(ALLOWED)}{hint}; auto = CUDA if available, "
                         "else the CPU")
    return name


DeviceName = Annotated[str, AfterValidator(check_device_name)]


def resolve_device(name: str, key: str = "device") -> torch.device:
    """The torch device for params value ``name`` of ``key``: ``auto`` → CUDA if available, else CPU.

    Raises :class:`ConfigError` (naming ``key``, the value and the fix) for an unknown name, or when CUDA (any
    ``cuda:<n>`` beyond the visible GPUs) or MPS is asked for and not available here.
    """
    import torch

    try:
        check_device_name(name)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{key} is '{name}' but no CUDA GPU is visible here (torch.cuda.is_available() is "
                              f"False); set {key}: auto or cpu")
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"{key} is '{name}' but only {count} CUDA GPU(s) are visible here (indices 0.."
                              f"{count - 1}); set {key}: cuda, auto or a visible index")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{key} is 'mps' but the Apple MPS backend is not available here "
                          f"(torch.backends.mps.is_available() is False); set {key}: auto or cpu")
    return torch.device(name)
