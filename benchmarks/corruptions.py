"""How fast C-CIFAR-10 is built: ``prepare`` of the ccifar10 kind at each ratio, timed with 1 and 2 (or more)
worker processes, in images/s, and whether the bytes agree across worker counts.

``--raw`` is a fetched raw folder (CIFAR-10's batches and the frost wheel, as ``fetch@ccifar10`` leaves them). With
``--synthetic`` a full-size release (50,000 + 10,000 random smooth images) in the real pickle layout is written
there first, beside the wheel given by ``--wheel``: corruption speed depends on the image size, not its content.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from gerne.data import ccifar10, cifar10
from gerne.data.corruptions.frost import WHEEL


def write_synthetic(raw: Path, seed: int = 0) -> None:
    """CIFAR-10's batch files with smooth random images (5,000 per class in train, 1,000 in test)."""
    rng = np.random.default_rng(seed)
    folder = raw / cifar10.FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    names = [*cifar10.TRAIN_BATCHES, "test_batch"]
    for name in names:
        labels = rng.permutation(np.repeat(np.arange(10), 1000))
        coarse = rng.integers(0, 256, (len(labels), 3, 8, 8), dtype=np.uint8)
        data = coarse.repeat(4, axis=2).repeat(4, axis=3).reshape(len(labels), -1)
        entry = {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": data}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))


@click.command()
@click.option("--raw", type=click.Path(file_okay=False), default=None, help="Raw folder (default: a temp dir).")
@click.option("--synthetic", is_flag=True, help="Write a full-size synthetic release into --raw first.")
@click.option("--wheel", type=click.Path(dir_okay=False, exists=True), default=None,
              help=f"{WHEEL.name} to place in --raw (the frost textures).")
@click.option("--workers", "worker_counts", type=int, multiple=True, default=(1, 2), show_default=True)
@click.option("--ratio", "ratios", type=float, multiple=True, default=(0.5, 1.0, 2.0, 5.0), show_default=True)
@click.option("--json", "json_path", default=None, help="Also write the result here.")
def main(raw: str | None, synthetic: bool, wheel: str | None, worker_counts: tuple[int, ...],
         ratios: tuple[float, ...], json_path: str | None) -> None:
    """Print seconds and images/s per ratio and worker count."""
    work = Path(tempfile.mkdtemp(prefix="ccifar10-bench-"))
    root = Path(raw) if raw else work / "raw"
    root.mkdir(parents=True, exist_ok=True)
    if synthetic:
        write_synthetic(root)
    if wheel:
        shutil.copy(wheel, root / WHEEL.name)
    result: dict[str, dict[str, float | str]] = {}
    try:
        for ratio in ratios:
            digests = set()
            for n in worker_counts:
                start = time.perf_counter()
                done = ccifar10.prepare(root, work / "out", ratio=ratio, workers=n)
                seconds = time.perf_counter() - start
                digests.add(hashlib.md5((work / "out" / "images.npy").read_bytes()).hexdigest())
                result[f"{ratio:g}% x{n}"] = {"seconds": round(seconds, 1), "images_per_s": round(done.rows / seconds)}
                click.echo(f"ratio {ratio:g} %, {n} worker(s): {seconds:.1f} s, {done.rows / seconds:,.0f} images/s")
            result[f"{ratio:g}%"] = {"identical_across_workers": str(len(digests) == 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
