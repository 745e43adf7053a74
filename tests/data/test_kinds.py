"""Conformance of every dataset kind in the registry: a tiny release in the kind's real layout, prepared the way
the pipeline's prepare stage calls it, meets the dataset contract. A new kind is tested here once it has a builder
in ``BUILDERS``; a kind without one fails by name."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from gerne.data.contract import SPLITS, counts_to_dict, group_counts, load_tensor_dataset
from gerne.data.registry import KINDS
from tests.conftest import REPO
from tests.data.fixtures import (
    bert_vocab_dir,
    bffhq_release,
    celeba_release,
    cifar10_release,
    cifar10c_release,
    civilcomments_release,
    colour_of,
    extract_tar,
    tiny_mnist,
    waterbirds_release,
    write_jpeg,
)

SIZE = 16  # image side of the prepared image kinds
NATIVE_SIDE = {"cmnist": 28, "ccifar10": 32, "ccifar10_dfa": 32}  # kinds keeping their source's side
LENGTH = 16  # token length of the prepared text kinds

# A builder makes a tiny raw directory in ``root`` and returns ``(raw_dir, prepare options)``: what the fetch stage
# leaves behind (or, for a kind read in place, the declared folder) and a declaration's ``prepare`` dict.
Builder = Callable[[Path], tuple[Path, dict[str, Any]]]


def _waterbirds(root: Path) -> tuple[Path, dict[str, Any]]:
    tar, counts = waterbirds_release(root)
    return extract_tar(tar, root / "raw"), {"image_size": SIZE, "expected_counts": counts}


def _celeba(root: Path) -> tuple[Path, dict[str, Any]]:
    counts = celeba_release(root / "raw")
    return root / "raw", {"image_size": SIZE, "expected_counts": counts}


def _civilcomments(root: Path) -> tuple[Path, dict[str, Any]]:
    tar, counts = civilcomments_release(root)
    vocab = bert_vocab_dir(root / "tokenizer")
    return extract_tar(tar, root / "raw"), {"tokenizer": str(vocab), "max_length": LENGTH, "expected_counts": counts,
                                            "local_files_only": True}


# (split, y, a) of the own fixture: 3 classes × 2 attributes, every split present, some groups empty.
_OWN_ROWS = [("train", 0, 0), ("train", 2, 1), ("val", 1, 0), ("test", 2, 0), ("train", 0, 1), ("val", 0, 1),
             ("test", 1, 1), ("train", 1, 0)]


def _own(root: Path) -> tuple[Path, dict[str, Any]]:
    """JPEGs of varied sizes, an RGB PNG and a greyscale PNG in subfolders, plus ``metadata.csv`` in the root."""
    folder, records = root / "mine", []
    for i, (split, y, a) in enumerate(_OWN_ROWS):
        if i % 4 == 1:
            name = f"png/{200 + i}.png"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            mode = "L" if i == 5 else "RGB"
            colour = colour_of(i)[0] if mode == "L" else colour_of(i)
            Image.new(mode, (40, 30), colour).save(folder / name)
        else:
            name = f"jpg/{200 + i}.jpg"
            write_jpeg(folder / name, (30 + 7 * i, 40), i)
        records.append({"id": f"pic-{200 + i}", "filename": name, "split": split, "y": y, "a": a})
    pd.DataFrame(records).to_csv(folder / "metadata.csv", index=False)
    counts = {s: {f"{y},{a}": 0 for y in range(3) for a in range(2)} for s in SPLITS}
    for split, y, a in _OWN_ROWS:
        counts[split][f"{y},{a}"] += 1
    return folder, {"image_size": SIZE, "expected_counts": counts}


def _cmnist(root: Path) -> tuple[Path, dict[str, Any]]:
    """Four real-format IDX files of random digits; C-MNIST at 5 % (28 px, not resized)."""
    return tiny_mnist(root / "raw"), {"ratio": 5.0, "val_size": 100}


def _ccifar10(root: Path) -> tuple[Path, dict[str, Any]]:
    """CIFAR-10's batches in the real pickle layout; LfF's Type 1 list (Type 0's frost needs the textures'
    wheel, whose real checksums a fixture cannot meet: tests/data/test_ccifar10.py covers it)."""
    cifar10_release(root / "raw", train_per_class=12, test_per_class=10)
    return root / "raw", {"ratio": 10.0, "val_size": 20, "corruptions": "type1"}


def _bffhq(root: Path) -> tuple[Path, dict[str, Any]]:
    _, counts = bffhq_release(root / "raw")
    return root / "raw", {"image_size": SIZE, "expected_counts": counts}


def _ccifar10_dfa(root: Path) -> tuple[Path, dict[str, Any]]:
    _, counts = cifar10c_release(root / "raw")
    return root / "raw", {"ratio": 5.0, "expected_counts": counts}


BUILDERS: dict[str, Builder] = {
    "cmnist": _cmnist,
    "ccifar10_dfa": _ccifar10_dfa,
    "bffhq": _bffhq,
    "ccifar10": _ccifar10,
    "waterbirds": _waterbirds,
    "celeba": _celeba,
    "civilcomments": _civilcomments,
    "own": _own,
}


def test_every_builder_names_a_kind() -> None:
    assert set(BUILDERS) <= set(KINDS), f"builders for unknown kinds: {sorted(set(BUILDERS) - set(KINDS))}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_meets_the_contract(kind: str, tmp_path: Path) -> None:
    builder = BUILDERS.get(kind)
    if builder is None:
        pytest.fail(f"dataset kind {kind!r} has no fixture builder in tests/data/test_kinds.py BUILDERS: add one "
                    "that writes a tiny release in its real layout")
    entry = KINDS[kind]
    raw, options = builder(tmp_path / "release")
    out = tmp_path / "prepared"
    prepared = entry.prepare(raw, out, **options)  # as pipeline/studies/stages.py:prepare calls it

    splits = load_tensor_dataset(out)
    assert set(splits) == set(SPLITS), f"{kind}: prepared splits {sorted(splits)}"
    info = json.loads((out / "counts.json").read_text())
    K, A = info["num_classes"], info["num_attributes"]
    tokens = (out / "tokens.npy").is_file()
    for name, split in splits.items():
        assert (split.num_classes, split.num_attributes) == (K, A)
        assert len(split) > 0 and split.x.shape[0] == split.a.shape[0] == len(split)
        assert int(split.y.min()) >= 0 and int(split.y.max()) < K, f"{kind} {name}: y outside [0, {K})"
        assert int(split.a.min()) >= 0 and int(split.a.max()) < A, f"{kind} {name}: a outside [0, {A})"
        if tokens:
            assert split.x.dtype == torch.int32 and tuple(split.x.shape[1:]) == (LENGTH,), f"{kind}: tokens N×L"
        else:
            side = options.get("image_size", NATIVE_SIDE.get(kind))  # C-MNIST / C-CIFAR-10 keep their source's side
            assert split.x.dtype == torch.uint8 and tuple(split.x.shape[1:]) == (side, side, 3), f"{kind}: N×H×W×3"
        loaded = counts_to_dict(group_counts(split.y.numpy(), split.a.numpy(), K, A))
        assert info["splits"][name] == loaded, f"{kind} {name}: counts.json differs from the loaded split"
    assert set(info["splits"]) == set(SPLITS)
    assert prepared.counts == info["splits"] and prepared.rows == sum(len(s) for s in splits.values())
    if "expected_counts" in options:
        assert info["splits"] == options["expected_counts"]
    assert np.array_equal(pd.read_csv(out / "metadata.csv")["id"].to_numpy(), np.arange(prepared.rows))

    path = REPO / entry.module
    assert path.is_file(), f"{kind}: registry module {entry.module} does not exist"
    module = importlib.import_module(entry.module.removesuffix(".py").replace("/", "."))
    assert callable(getattr(module, "prepare", None)), f"{kind}: {entry.module} defines no prepare"
    assert entry.prepare is module.prepare


def test_each_kind_states_its_number_of_classes_and_each_benchmark_has_one() -> None:
    from gerne.data.registry import benchmark_classes

    for name, entry in KINDS.items():  # the module's NUM_CLASSES, what the collapse flag's chance level needs
        assert entry.num_classes == getattr(importlib.import_module(f"gerne.data.{name}"), "NUM_CLASSES", None)
    assert (benchmark_classes("cmnist"), benchmark_classes("ccifar10"), benchmark_classes("bffhq")) == (10, 10, 2)
    assert benchmark_classes("own") is None and benchmark_classes("no-such-benchmark") is None
