"""DFR, Deep Feature Reweighting (Kirichenko et al., 2023; PolinaKirichenko/deep_feature_reweighting): keep an
ERM model's feature extractor and retrain only its last layer on group-balanced data.

The run's model starts as the reference model f̃ (its state is the method's ``reference``); the features are the
inputs of its last linear layer, standardised on the held-out split. ``subsets`` times, a group-balanced subset (as
many samples of every (y, a) group as the smallest group has, drawn without replacement) fits an L1-regularised
multinomial logistic regression with inverse strength ``C``; the last layer becomes the average of the fits. No SGD
steps: the method replaces the loop (``fit``), and its one evaluation is every selection's.

``holdout`` names the data the subsets come from. DFR uses a held-out split (``val``); on C-MNIST validation is as
biased as train (at 0.5 % some of its groups are empty), so the C-MNIST row retrains on the training split (DFR's
"DFR_Tr^Tr" variant), whose smallest group has 2 samples at 0.5 %.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from gerne.data.contract import Split
from gerne.errors import ConfigError
from gerne.methods.base import Declared, Range
from gerne.methods.batches import group_ids
from gerne.train.evaluate import aligned_attributes, evaluate
from gerne.train.loop import LoopConfig, TrainResult, finish, record_epoch
from gerne.train.selection import RULES
from gerne.train.stack import ModelStack

HOLDOUTS = ("train", "val")


class Dfr(Declared):
    """Last-layer retraining of ``reference`` on ``subsets`` group-balanced subsets of ``holdout``."""

    name: ClassVar[str] = "dfr"
    stackable: ClassVar[bool] = False
    batch_units: ClassVar[tuple[str, ...]] = ("class", "total", "group")
    options: ClassVar[dict[str, Range]] = {"C": Range(lambda v: v > 0.0, "positive (DFR's inverse L1 strength)"),
               "subsets": Range(lambda v: v >= 1.0 and v == int(v), "a whole number, at least 1 (DFR's balanced "
                                "subsets)")}
    needs_reference: ClassVar[bool] = True
    groupings: ClassVar[tuple[str, ...] | None] = ("known",)  # its subsets are balanced on the true groups
    recorded: ClassVar[tuple[str, ...]] = ("holdout",)

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """The reference checkpoint's weights (its model must be the row's), C of the config or search, the number
        of balanced subsets (DFR's 10 unless the config says), the protocol's ``holdout`` split."""
        if reference is None:
            raise ConfigError("a dfr row retrains the reference model's last layer: it needs the reference "
                              "checkpoint")
        if "C" not in cfg:
            raise ConfigError("a dfr row needs its inverse L1 strength: config {C: 0.1} or a search over C")
        mine = {"name": protocol.model, **protocol.model_options}
        theirs = {k: v for k, v in reference["model"].items() if k != "pretrained"}
        if {k: v for k, v in mine.items() if k != "pretrained"} != theirs:
            raise ConfigError(f"the dfr row trains model {mine} but the reference model is {theirs}; DFR retrains "
                              "the reference's last layer, so give the row the reference's model (no protocol "
                              "override)")
        return {"reference": reference["state_dict"], "C": cfg["C"], "subsets": int(cfg.get("subsets", 10)),
                "holdout": protocol.holdout}

    def __init__(self, reference: dict[str, torch.Tensor], C: float, subsets: int = 10, holdout: str = "train",
                 max_iter: int = 1000) -> None:
        if not float(C) > 0.0:
            raise ValueError(f"DFR's inverse regularisation strength C must be positive, got {C}")
        if int(subsets) < 1:
            raise ValueError(f"DFR needs at least one balanced subset, got subsets = {subsets}")
        if holdout not in HOLDOUTS:
            raise ValueError(f"DFR's holdout must be one of {HOLDOUTS}, got '{holdout}'")
        if not reference:
            raise ValueError("DFR retrains the last layer of a reference model; its state is empty")
        self.reference, self.C, self.subsets = reference, float(C), int(subsets)
        self.holdout, self.max_iter = holdout, int(max_iter)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Keep the training split (checked to hold every group when it is the holdout)."""
        if len(train) == 0:
            raise ValueError(f"the {what} is empty")
        if self.holdout == "train":
            check_groups(train, what)
        self.train, self.y, self.what = train, train.y, what
        self.samples_per_batch = len(train)

    @classmethod
    def stacked(cls, methods: list[Dfr]) -> None:
        raise ValueError("DFR takes no SGD steps: the loop calls Dfr.fit")

    @classmethod
    def fit(cls, models: list[nn.Module], methods: list[Dfr], eval_splits: dict[str, Split], cfgs: list[LoopConfig],
            on_epoch: list[Callable[[int, dict[str, float]], None]] | None = None) -> list[TrainResult]:
        """Each run: load the reference, refit its last layer, evaluate once (epoch 1 of every selection)."""
        for method in methods:
            if method.holdout == "val":
                check_groups(eval_splits["val"], "validation split")
        results = []
        for r, (model, method, cfg) in enumerate(zip(models, methods, cfgs, strict=True)):
            held, what = (method.train, method.what) if method.holdout == "train" else (eval_splits["val"], "val")
            began = time.perf_counter()
            model.load_state_dict(method.reference)
            head = last_linear(model)
            weight, bias = balanced_logistic(features(model, head, held.x, cfg.eval_batch_size), held,
                                             method.C, method.subsets, cfg.seed, method.max_iter, what)
            with torch.no_grad():
                head.weight.copy_(weight)
                head.bias.copy_(bias)
            seconds = time.perf_counter() - began
            stack = ModelStack([model])
            evals = {k: v for k, v in eval_splits.items() if k != "train" or cfg.evaluate_train}
            metrics, tables = evaluate(stack, evals, aligned_attributes(eval_splits["train"]), cfg.eval_batch_size)
            result = TrainResult(steps_per_epoch=0)
            record_epoch(result, {name: math.nan for name in RULES}, 1, metrics[0], tables[0], cfg, stack, 0)
            if on_epoch is not None:
                on_epoch[r](1, metrics[0])
            finish([result], stack, seconds)
            results.append(result)
        return results


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's last ``nn.Linear`` (its classifier head)."""
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not heads:
        raise ValueError(f"DFR retrains a last linear layer; {type(model).__name__} has none")
    return heads[-1]


@torch.no_grad()
def features(model: nn.Module, head: nn.Linear, x: torch.Tensor, chunk: int) -> torch.Tensor:
    """The inputs of ``head`` for every row of ``x`` (float32, on the CPU), in eval mode."""
    out: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, args, _o: out.append(args[0].detach().float().cpu()))
    model.train(False)
    try:
        for i in range(0, x.shape[0], chunk):
            model(x[i : i + chunk])
    finally:
        hook.remove()
    return torch.cat(out)


def check_groups(held: Split, what: str) -> None:
    """ValueError naming the (y, a) groups ``held`` lacks: a balanced subset needs every group."""
    present = set(group_ids(held).unique().tolist())
    missing = sorted(set(range(held.num_classes * held.num_attributes)) - present)
    if missing:
        raise ValueError(f"DFR's group-balanced subsets need every group; the {what} has none of groups "
                         f"{missing[:10]} (y·A + a); use a holdout that holds every group (protocol holdout)")


def balanced_subset(gid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of an equal number of samples from every group present (the smallest group's size), unordered."""
    groups = np.unique(gid)
    size = min(int((gid == g).sum()) for g in groups)
    return np.concatenate([rng.choice(np.flatnonzero(gid == g), size, replace=False) for g in groups])


def _fit_one(z: np.ndarray, y: np.ndarray, C: float, max_iter: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of one L1 logistic regression (saga) on standardised features ``z``."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(l1_ratio=1.0, C=C, solver="saga", max_iter=max_iter, random_state=seed)
    fit.fit(z, y)
    return fit.coef_, fit.intercept_


def balanced_logistic(h: torch.Tensor, held: Split, C: float, subsets: int, seed: int, max_iter: int,
                      what: str, workers: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight [K, D], bias [K]) acting on raw features: the average of ``subsets`` L1 logistic regressions on
    standardised features, each on a group-balanced subset of ``held``; the standardisation folded in.

    The subsets are drawn first, in order, then fitted ``workers`` at a time (default: torch's thread count; the
    solver releases the GIL) and averaged in order: the same weights, bit for bit, as one fit after another."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.exceptions import ConvergenceWarning

    K = held.num_classes
    check_groups(held, what)
    gid = group_ids(held).cpu().numpy()
    x = h.double().numpy()
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0.0] = 1.0
    z, y = (x - mean) / scale, held.y.cpu().numpy()
    rng = np.random.default_rng(seed)
    chosen = [balanced_subset(gid, rng) for _ in range(subsets)]
    workers = max(1, min(subsets, workers or torch.get_num_threads()))
    with warnings.catch_warnings(), ThreadPoolExecutor(workers) as pool:  # the filter is process-wide: every thread
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = list(pool.map(lambda i: _fit_one(z[chosen[i]], y[chosen[i]], C, max_iter, seed + i), range(subsets)))
    coef, intercept = np.zeros((K, x.shape[1])), np.zeros(K)
    for w, b in fits:
        if K == 2:  # one logit difference: split it over the two classes (the same softmax)
            w, b = np.concatenate([-w, w]) / 2.0, np.concatenate([-b, b]) / 2.0
        coef += w / subsets
        intercept += b / subsets
    weight = coef / scale
    return torch.from_numpy(weight).float(), torch.from_numpy(intercept - weight @ mean).float()
