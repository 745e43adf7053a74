"""Process-level settings for fast training loops (opted into by entry points, never by library imports).

glibc's ``malloc`` serves large blocks (≥ 128 KiB, adapting up to 32 MiB) with ``mmap`` and returns them with
``munmap``; a training step that allocates a fresh 9–19 MB float batch then pays tens of thousands of minor page
faults per epoch (measured: ~48,000 per C-MNIST GERNE epoch, 0.2–0.3 s of a 1.5–1.8 s epoch). Raising the mmap and
trim thresholds keeps such blocks in the heap, so they are reused without faults. Results are bit-for-bit unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from glibc's <malloc.h>
MMAP_THRESHOLD = 256 * 1024**2  # blocks below this come from the heap
TRIM_THRESHOLD = 1024**3  # keep up to this much freed memory at the heap top instead of returning it
ENV_SWITCH = "GERNE_MALLOC_TUNING"

_applied = False


def keep_large_allocations() -> bool:
    """Make glibc keep large freed blocks for reuse (``mallopt``); True if applied (or already applied).

    A no-op returning False off Linux/glibc or when ``GERNE_MALLOC_TUNING=0``. Process-wide and irreversible, so
    only entry points (pipeline stages, the benchmark) call it; library users may call it in their own scripts.
    """
    global _applied
    if _applied:
        return True
    if os.environ.get(ENV_SWITCH, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("glibc malloc thresholds raised: %s", _applied)
    return _applied


def allocations_kept() -> bool:
    """Whether :func:`keep_large_allocations` is in effect in this process."""
    return _applied


def minor_page_faults() -> int:
    """Minor page faults of this process so far (for measuring allocation overhead)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
