"""Colored MNIST construction on the real MNIST files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data.cmnist import (
    PALETTE,
    SEVERITY_STD,
    assign_attributes,
    build_cmnist,
    colorize,
    n_conflicting,
    uniform_attributes,
)
from gerne.data.contract import load_tensor_dataset
from gerne.errors import ConfigError

RATIO = 0.005  # the session build uses ratio_percent=0.5


def _load(out: Path) -> tuple[np.ndarray, pd.DataFrame]:
    return np.load(out / "images.npy", mmap_mode="r"), pd.read_csv(out / "metadata.csv")


def _check_assignment(y: np.ndarray, a: np.ndarray, ratio: float) -> None:
    """Conflicting count per class = round(ratio·n_y), spread over the 9 other colours (max − min ≤ 1)."""
    for cls in range(10):
        a_cls = a[y == cls]
        assert (a_cls != cls).sum() == n_conflicting(len(a_cls), ratio)
        per_colour = np.bincount(a_cls, minlength=10)
        others = np.delete(per_colour, cls)
        assert others.max() - others.min() <= 1


def test_constants() -> None:
    assert PALETTE.shape == (10, 3)
    assert PALETTE[0].tolist() == [0.983682, 0.312519, 0.168575]
    assert PALETTE[9].tolist() == [0.833658, 0.202409, 0.266943]
    assert SEVERITY_STD == {1: 0.05, 2: 0.02, 3: 0.01, 4: 0.005}


def test_colorize_exact_without_noise(mnist_arrays) -> None:
    gray = mnist_arrays[2][:50]
    a = np.arange(50) % 10
    out = colorize(gray, a, 0.0, np.random.default_rng(0))
    assert out.shape == (50, 28, 28, 3) and out.dtype == np.uint8
    expected = np.rint(gray[..., None].astype(np.float64) * PALETTE[a][:, None, None, :]).astype(np.uint8)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1  # float32 vs float64 rounding only
    assert (out[gray == 0] == 0).all()  # background stays black


def test_colorize_jitter_and_determinism() -> None:
    gray = np.full((2000, 28, 28), 255, dtype=np.uint8)
    a = np.zeros(2000, dtype=np.int64)
    first = colorize(gray, a, 0.05, np.random.default_rng(3))
    assert np.array_equal(first, colorize(gray, a, 0.05, np.random.default_rng(3)))
    assert not np.array_equal(first, colorize(gray, a, 0.05, np.random.default_rng(4)))
    colours = first[:, 0, 0, :] / 255.0
    # channel 0 (0.98 + noise) is clipped at 1, so check the others
    assert np.allclose(colours[:, 1:].mean(0), PALETTE[0, 1:], atol=0.005)
    assert np.allclose(colours[:, 1:].std(0), 0.05, atol=0.005)
    assert colours[:, 0].max() == 1.0


def test_assign_attributes_rule() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=20000)
    for ratio in (0.005, 0.01, 0.02, 0.05, 0.5):
        _check_assignment(y, assign_attributes(y, ratio, np.random.default_rng(1)), ratio)
    a1 = assign_attributes(y, 0.05, np.random.default_rng(1))
    assert np.array_equal(a1, assign_attributes(y, 0.05, np.random.default_rng(1)))
    assert not np.array_equal(a1, assign_attributes(y, 0.05, np.random.default_rng(2)))
    assert n_conflicting(5430, 0.005) == 27 and n_conflicting(100, 0.005) == 1  # halves round up


def test_uniform_attributes_even() -> None:
    y = np.repeat(np.arange(10), 1003)
    a = uniform_attributes(y, np.random.default_rng(0))
    for cls in range(10):
        counts = np.bincount(a[y == cls], minlength=10)
        assert counts.max() - counts.min() <= 1


def test_splits_sizes_and_order(cmnist_built, mnist_arrays) -> None:
    out, counts = cmnist_built
    images, meta = _load(out)
    assert images.shape == (70000, 28, 28, 3) and images.dtype == np.uint8
    assert meta["id"].tolist() == list(range(70000))
    assert meta["split"].value_counts().to_dict() == {"train": 55000, "val": 5000, "test": 10000}
    assert meta["split"].tolist() == ["train"] * 55000 + ["val"] * 5000 + ["test"] * 10000
    # train + val is a partition of MNIST train; test keeps MNIST test labels in order
    train_y, test_y = mnist_arrays[1], mnist_arrays[3]
    assert np.bincount(meta.loc[meta.split != "test", "y"]).tolist() == np.bincount(train_y).tolist()
    assert np.array_equal(meta.loc[meta.split == "test", "y"].to_numpy(), test_y)
    stored = json.loads((out / "counts.json").read_text())
    assert stored["splits"] == counts and stored["num_classes"] == stored["num_attributes"] == 10
    assert sum(counts["train"].values()) == 55000
    loaded = load_tensor_dataset(out)
    assert len(loaded["val"]) == 5000 and tuple(loaded["train"].x.shape[1:]) == (28, 28, 3)


def test_conflicting_counts_and_spread(cmnist_built) -> None:
    out, counts = cmnist_built
    _, meta = _load(out)
    for split in ("train", "val"):
        part = meta[meta.split == split]
        _check_assignment(part.y.to_numpy(), part.a.to_numpy(), RATIO)
        n_conf = int((part.y != part.a).sum())
        assert n_conf == sum(n_conflicting(int(n), RATIO) for n in np.bincount(part.y))
        assert n_conf == sum(v for k, v in counts[split].items() if k.split(",")[0] != k.split(",")[1])
    assert 250 <= (meta[meta.split == "train"].pipe(lambda d: (d.y != d.a).sum())) <= 300  # ≈ 0.5% of 55,000


def test_test_split_unbiased(cmnist_built) -> None:
    _, counts = cmnist_built
    cells = np.array([[counts["test"][f"{y},{a}"] for a in range(10)] for y in range(10)])
    assert cells.sum() == 10000
    assert cells.min() >= 80 and cells.max() <= 120


def test_palette_colours_appear(cmnist_built, mnist_arrays) -> None:
    out, _ = cmnist_built
    images, meta = _load(out)
    test_rows = np.flatnonzero(meta.split.to_numpy() == "test")
    gray = mnist_arrays[2].astype(np.float64)
    img = np.asarray(images[test_rows], dtype=np.float64)
    a = meta.a.to_numpy()[test_rows]
    # Mean foreground colour per image (intensity-weighted) recovers the jittered palette colour.
    est = img.sum(axis=(1, 2)) / gray.sum(axis=(1, 2))[:, None]
    assert np.abs(est - PALETTE[a]).max() < 0.03
    aligned = a == meta.y.to_numpy()[test_rows]
    assert 0.08 < aligned.mean() < 0.12
    assert (img[gray == 0] == 0).all()


def test_deterministic_per_seed(cmnist_built, mnist_raw: Path, tmp_path: Path) -> None:
    out, _ = cmnist_built

    def digest(d: Path) -> tuple[str, str]:
        return tuple(hashlib.md5((d / f).read_bytes()).hexdigest() for f in ("images.npy", "metadata.csv"))

    build_cmnist(mnist_raw, tmp_path / "same", ratio_percent=0.5, seed=0)
    assert digest(tmp_path / "same") == digest(out)
    build_cmnist(mnist_raw, tmp_path / "other", ratio_percent=0.5, seed=1)
    other = digest(tmp_path / "other")
    assert other[0] != digest(out)[0] and other[1] != digest(out)[1]


@pytest.mark.parametrize("ratio_percent", [0, 100, -1, 150, float("nan")])
def test_bad_ratio_raises(tmp_path: Path, ratio_percent: float) -> None:
    with pytest.raises(ConfigError, match="ratio_percent"):
        build_cmnist(tmp_path / "no-raw", tmp_path / "out", ratio_percent=ratio_percent)
    assert not (tmp_path / "out").exists()


def test_hue_palette_build(cmnist_built, mnist_raw: Path, tmp_path: Path, mnist_arrays) -> None:
    """DFA's hue wheel colours the same split with other colours: same groups, pixels of the wheel."""
    from gerne.data.cmnist import HUE_PALETTE

    out, counts = cmnist_built
    assert build_cmnist(mnist_raw, tmp_path / "hue", ratio_percent=0.5, std=0.0, seed=0, palette="hue") == counts
    images, meta = _load(tmp_path / "hue")
    assert meta[["split", "y", "a"]].equals(_load(out)[1][["split", "y", "a"]])
    first_test = int(np.flatnonzero(meta["split"].to_numpy() == "test")[0])
    colour = HUE_PALETTE[meta["a"][first_test]]
    expected = np.rint(mnist_arrays[2][0][..., None].astype(np.float64) * colour).astype(np.uint8)
    assert np.array_equal(images[first_test], expected)


@pytest.mark.parametrize("total", [0, 249, 1000])
def test_exact_conflicting_count(total: int) -> None:
    """train_conflicting draws exactly ``total`` conflicting samples, spread over classes by their size."""
    from gerne.data.cmnist import split_total

    y = np.random.default_rng(0).integers(0, 10, 20_000)
    a = assign_attributes(y, 0.005, np.random.default_rng(1), total=total)
    assert int((a != y).sum()) == total
    sizes = np.bincount(y, minlength=10)
    per_class = np.array([int(((a != y) & (y == c)).sum()) for c in range(10)])
    assert np.array_equal(per_class, split_total(total, sizes))
    assert np.abs(per_class - total * sizes / sizes.sum()).max() < 1.0


@pytest.mark.parametrize(("options", "match"), [({"palette": "rainbow"}, "palette 'rainbow'"),
                                                ({"train_conflicting": -1}, "train_conflicting"),
                                                ({"train_conflicting": True}, "train_conflicting"),
                                                ({"train_conflicting": 2.5}, "train_conflicting")])
def test_bad_dfa_options_raise(tmp_path: Path, options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_cmnist(tmp_path / "no-raw", tmp_path / "out", ratio_percent=0.5, **options)
    assert not (tmp_path / "out").exists()
