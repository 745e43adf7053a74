"""Algorithm 2, steps 1-2: the biased model f̃ and the pseudo-attributes derived from it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gerne.device import resolve_device
from gerne.groups import reference_confidence
from gerne.io import atomic_paths
from gerne.methods import build_method
from gerne.tracking import Tracker
from gerne.train.loop import LoopConfig
from pipeline.runs.common import load_splits, make_model, tracked_fit, write_summary
from pipeline.studies.reference import checkpoint, load_checkpoint, split_at, write_scores

if TYPE_CHECKING:  # the params schema is the harness's; the library only reads its fields
    from pipeline.config import Params


def train_biased(params: Params, data_dir: str | Path, ratio: float, model_path: str | Path,
                 summary_path: str | Path, tracker: Tracker | None = None, benchmark: str = "cmnist") -> dict:
    """Algorithm 2, step 1: class-balanced ERM (β = −1) with wd ×2, lr ×0.1, selected by validation CBA."""
    b = params.biased
    device = resolve_device(params.train.device)
    splits = load_splits(data_dir, device)
    train = splits["train"].with_attributes(torch.zeros_like(splits["train"].y), 1)
    method = build_method("gerne", c=1.0, beta=-1.0, batch_size=params.train.batch_size, batch_unit="class",
                          track_both_losses=False)
    method.setup(train, what="biased-model training data")
    loop = LoopConfig(epochs=b.epochs, lr=params.train.lr * b.lr_factor, momentum=params.train.momentum,
                      weight_decay=params.train.weight_decay * b.weight_decay_factor, seed=b.seed,
                      steps_per_epoch=params.train.steps_per_epoch, select_metric="val_cba",
                      precision=params.train.precision)
    config = {"biased": b.model_dump(), "loop": loop.__dict__, "model": params.model.model_dump(),
              "data": {"ratio": ratio, "dir": str(data_dir)}}
    tags = {"stage": "biased", "dataset": benchmark, "ratio": ratio, "setting": "biased", "seed": b.seed}
    evals = {k: splits[k] for k in ("train", "val", "test")}
    model = make_model(params, train, b.seed, device)
    spec = {"name": f"biased-r{ratio}", "config": config, "tags": tags}
    ((result, run_id),) = tracked_fit(tracker or Tracker(benchmark), [spec], [model], [method], evals, [loop])
    info = {"benchmark": benchmark, "ratio": ratio, "setting": "biased", "seed": b.seed, "config": config}
    # replaced together or not at all; saved through a file object so the archive's inner folder is not named
    # after the random temporary file (the same weights then give the same bytes and DVC hash)
    with atomic_paths(model_path, summary_path) as (model_tmp, summary_tmp), open(model_tmp, "wb") as fh:
        torch.save(checkpoint(result.states["best_val"], params.model.model_dump(), train), fh)
        return write_summary(summary_tmp, result, run_id, info)


def derive_pseudo(params: Params, data_dir: str | Path, model_path: str | Path, out_file: str | Path,
                 quality_path: str | Path, ratio: float) -> dict[str, Any]:
    """Algorithm 2, step 2: score train samples by softmax(f̃(x))_y and split each class at every t (as an
    absolute share at ``ratio`` %, see ``pseudo.t_scale``)."""
    params = params.for_ratio(ratio)
    device = resolve_device(params.train.device)
    train = load_splits(data_dir, device)["train"]
    confidence = reference_confidence(load_checkpoint(model_path, device), train, batch_size=8192)  # 8192: CPU
    arrays, quality = split_at(confidence, train, params.pseudo.thresholds)  # GEMMs depend on the batch size
    write_scores(out_file, quality_path, arrays, quality)
    return quality["thresholds"]
