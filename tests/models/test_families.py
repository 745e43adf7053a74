"""Conformance of every model family in the registry: its file in ``FILES`` is the module defining the built
model's class, and a tiny offline build trains (forward + backward on a batch of 2). A new family is tested here
once it has a tiny build in ``TINY``; a family without one fails by name."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from gerne.models import FILES, MODELS, build_model
from tests.conftest import REPO

NUM_CLASSES = 3
BATCH = 2

# family → (input_shape without batch, options, batch of inputs): tiny, random weights, no network.
# Image families take uint8 H×W×3 (the dataset contract); BERT takes token ids of shape (L,).
TINY: dict[str, tuple[tuple[int, ...], dict[str, Any], Any]] = {
    "mlp": ((4, 4, 3), {"hidden": [8]}, lambda: torch.randint(0, 256, (BATCH, 4, 4, 3), dtype=torch.uint8)),
    "resnet18": ((16, 16, 3), {"pretrained": False},
                 lambda: torch.randint(0, 256, (BATCH, 16, 16, 3), dtype=torch.uint8)),
    "resnet50": ((16, 16, 3), {"pretrained": False},
                 lambda: torch.randint(0, 256, (BATCH, 16, 16, 3), dtype=torch.uint8)),
    "bert": ((12,), {"pretrained": False, "vocab_size": 50, "hidden_size": 32, "num_layers": 2, "num_heads": 2,
                     "intermediate_size": 37, "max_positions": 64, "dropout": 0.1},
             lambda: torch.cat([torch.randint(1, 50, (BATCH, 8)), torch.zeros(BATCH, 4, dtype=torch.long)], 1)),
}


def test_files_cover_exactly_the_models() -> None:
    assert set(FILES) == set(MODELS)
    assert set(TINY) <= set(MODELS), f"tiny builds for unknown families: {sorted(set(TINY) - set(MODELS))}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_family_file_and_training_step(name: str) -> None:
    if name not in TINY:
        pytest.fail(f"model family {name!r} has no tiny build in tests/models/test_families.py TINY: add its input "
                    "shape, offline options and a batch")
    assert name in FILES, f"model family {name!r} has no entry in gerne.models.FILES"
    assert (REPO / FILES[name]).is_file(), f"{name}: FILES names {FILES[name]}, which does not exist"
    shape, options, batch = TINY[name]
    torch.manual_seed(0)
    model = build_model(name, shape, NUM_CLASSES, **options)
    defined_in = type(model).__module__.replace(".", "/") + ".py"
    assert defined_in == FILES[name], f"{name}: {type(model).__name__} is in {defined_in}, FILES says {FILES[name]}"

    model.train()
    logits = model(batch())
    assert logits.shape == (BATCH, NUM_CLASSES) and logits.is_floating_point()
    F.cross_entropy(logits, torch.arange(BATCH) % NUM_CLASSES).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable, f"{name}: no trainable parameters"
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"{name}: parameters without a gradient: {missing[:5]}"
    bad = [n for n, p in trainable if not torch.isfinite(p.grad).all()]
    assert not bad, f"{name}: non-finite gradients in {bad[:5]}"
    assert any(p.grad.abs().sum() > 0 for _, p in trainable)
