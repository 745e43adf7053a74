"""The malloc setting removes the page faults of repeated large allocations (measured, not assumed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import sys, torch
from gerne.models import build_model
from gerne.system import keep_large_allocations, minor_page_faults
if sys.argv[1] == "tuned":
    assert keep_large_allocations()
model = build_model("mlp", (28, 28, 3), 10)
x = torch.randint(0, 256, (55000, 28, 28, 3), dtype=torch.uint8)

def step():  # what a GERNE step allocates: a fresh 2,000-image batch, its float copy, activations, gradients
    batch = x.index_select(0, torch.randint(0, 55000, (2000,)))
    model(batch).logsumexp(1).mean().backward()

for _ in range(10):
    step()  # warm-up: the heap grows to its working size
start = minor_page_faults()
for _ in range(40):
    step()
print(minor_page_faults() - start)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_tuned_malloc_reuses_large_blocks() -> None:
    default, tuned = _faults("default"), _faults("tuned")
    assert default > 10_000  # freed blocks go back to the OS and fault in again (measured 19,000-64,000)
    assert tuned < 5_000  # measured 0, at most one 18.8 MB block (4,594 pages) faulting in once


def test_switch_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import gerne.system as system

    monkeypatch.setattr(system, "_applied", False)
    monkeypatch.setenv(system.ENV_SWITCH, "0")
    assert system.keep_large_allocations() is False
    assert system.allocations_kept() is False
