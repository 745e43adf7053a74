"""Every registered method satisfies the loop's protocol (gerne.methods.base): one tiny epoch on a toy dataset,
alone and stacked; plus ERM's natural sampling."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from gerne.data.contract import Split, load_tensor_dataset
from gerne.groups import apply_grouping
from gerne.methods import METHODS, build_method
from gerne.methods.base import Method, Step
from gerne.methods.erm import Erm
from gerne.models import build_model
from gerne.train.loop import LoopConfig, fit_stack
from tests.helpers import toy_dataset

OPTIONS = {  # the options each registered method is tried with; a new method must add its entry here
    "gerne": {"c": 0.5, "beta": 1.0, "batch_size": 20},
    "erm": {"batch_size": 60},
    "reweight": {"batch_size": 60},
    "sqrt_reweight": {"batch_size": 60},
    "groupdro": {"batch_size": 20, "eta": 0.01},
    "sw": {"c": 0.5, "beta": 1.0, "batch_size": 20},
    "lff": {"batch_size": 60, "optimizer": "sgd", "lr": 0.05},
    "jtt": {"batch_size": 60, "up": 20.0},
    "dfr": {"C": 1.0, "subsets": 2},  # plus the reference state (REFERENCE)
}
# the grouping a method trains on where it is not the true attributes (JTT: an error set, from made-up scores)
GROUPED = {"jtt": lambda train: apply_grouping("errors", train, scores=np.linspace(0.0, 1.0, len(train)))}


# methods that start from a reference model's weights (their entry says so): the state of the test's model family
REFERENCE = {name for name, entry in METHODS.items() if entry.needs_reference}


def models_for(split: Split, count: int) -> list[nn.Module]:
    torch.manual_seed(0)
    return [build_model("mlp", tuple(split.x.shape[1:]), 3, hidden=[16]) for _ in range(count)]


def test_every_method_has_conformance_options() -> None:
    assert set(OPTIONS) == set(METHODS)


PROTOCOL = SimpleNamespace(batch_size=20, batch_unit="class", pseudo_batch_size=None, track_both_losses=True,
                           optimizer="sgd", weight_decay=0.0, momentum=0.9, model="mlp",
                           model_options={"hidden": [16]}, holdout="train")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_describes_itself(name: str, splits: dict[str, Split]) -> None:
    """A method's entry is all the harness reads: its constructor takes what ``from_protocol`` returns for a config
    of its own options, its batch units include class-balanced batches, its options' ranges accept that config."""
    entry, train = METHODS[name], GROUPED.get(name, lambda t: t)(splits["train"])
    cfg = {"c": 0.5, "beta": 1.0, "lr": 0.05, **{k: v for k, v in OPTIONS[name].items() if k in entry.options}}
    for key, value in cfg.items():
        assert key not in entry.options or entry.options[key].ok(value), (key, entry.options[key].text)
    reference = {"state_dict": models_for(train, 1)[0].state_dict(), "model": {"name": "mlp", "hidden": [16]}}
    options = entry.from_protocol(PROTOCOL, train, cfg, False, reference if entry.needs_reference else None)
    method = build_method(name, **options)
    method.setup(train)
    assert "class" in entry.batch_units and entry.groupings in (None, ("known",))
    assert entry.uses_beta == ("beta" in options)


@pytest.fixture(scope="module")
def splits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Split]:
    return load_tensor_dataset(toy_dataset(tmp_path_factory.mktemp("toy") / "toy"))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_trains_one_epoch_alone_and_stacked(name: str, splits: dict[str, Split]) -> None:
    extra = {"reference": models_for(splits["train"], 1)[0].state_dict()} if name in REFERENCE else {}
    methods = [build_method(name, **OPTIONS[name], **extra) for _ in range(2)]
    for method in methods:
        method.setup(GROUPED.get(name, lambda train: train)(splits["train"]))
        assert isinstance(method, Method) and method.name == name
    cfgs = [LoopConfig(epochs=1, lr=0.05, seed=seed, steps_per_epoch=3) for seed in (0, 1)]
    alone = [fit_stack([m], [meth], splits, [c])[0]
             for m, meth, c in zip(models_for(splits["train"], 2), methods, cfgs, strict=True)]
    if hasattr(type(methods[0]), "fit"):  # no SGD steps: one evaluation, every selection at it
        assert all(set(one.selections) == {"last", "best_val", "oracle"} and len(one.history) == 1 for one in alone)
        return
    step = type(methods[0]).stacked(methods if methods[0].stackable else methods[:1])
    assert isinstance(step, Step) and step.loss_names
    together = fit_stack(models_for(splits["train"], 2), methods, splits, cfgs) if methods[0].stackable else alone
    for one, many in zip(alone, together, strict=True):
        row = one.history[0]
        assert set(step.loss_names) <= set(row) and math.isfinite(row[step.loss_names[-1]])
        assert set(one.selections) == {"last", "best_val", "oracle"} and not one.diverged
        assert many.history[0][step.loss_names[-1]] == pytest.approx(row[step.loss_names[-1]], rel=1e-5)


def test_stacking_two_method_classes_is_refused(splits: dict[str, Split]) -> None:
    methods = [build_method(name, **OPTIONS[name]) for name in ("gerne", "erm")]
    for method in methods:
        method.setup(splits["train"])
    torch.manual_seed(0)
    models = [build_model("mlp", tuple(splits["train"].x.shape[1:]), 3, hidden=[8]) for _ in methods]
    with pytest.raises(ValueError, match="one stackable method class"):
        fit_stack(models, methods, splits, [LoopConfig(epochs=1, lr=0.1)] * 2)


def test_erm_draws_batches_with_the_training_distribution() -> None:
    """Natural sampling: a class holding 90 % of the data fills about 90 % of the batches (GERNE's class-balanced
    sampler would give it 1/K), and each stacked run draws from its own generator."""
    y = torch.tensor([0] * 900 + [1] * 100)
    erm = Erm(batch_size=2000)
    erm.setup(Split(torch.arange(1000.0)[:, None], y, torch.zeros_like(y), 2, 1))
    step = Erm.stacked([erm, erm])
    x, labels = step.batch([torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)])
    assert x.shape == (2, 2000, 1) and labels.shape == (2, 2000)
    assert (labels == 0).float().mean().item() == pytest.approx(0.9, abs=0.02)
    assert not torch.equal(x[0], x[1])
    again, _ = step.batch([torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)])
    assert torch.equal(again, x)  # seeded
