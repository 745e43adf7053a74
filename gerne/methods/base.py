"""The method protocol: what the training loop asks of every method, so a new method is one module and one
registry entry, with no edit to the loop.

A method is built from its options, :meth:`Method.setup` on the training split (the attributes it may see are the
split's ``a``), and asked once per fit for a :class:`Step` over the R runs trained together (``stacked``; R = 1
unless ``stackable``). A step draws each run's batch from that run's generator and returns the summed loss to
back-propagate and the detached ``[R, len(loss_names)]`` table of per-step losses that the loop averages per epoch;
by convention the last entry is the objective itself (the loop watches it for divergence).

A method that takes no SGD steps (DFR's convex last-layer fit) defines the class method
``fit(models, methods, eval_splits, cfgs, on_epoch) -> list[TrainResult]`` instead; the loop hands it the runs.

Each method also describes itself to whoever builds it from a training protocol (the pipeline), by inheriting
:class:`Declared` and overriding what differs: the batch units it understands, the options a config may fix or
search with their admissible ranges, whether it takes β (checked against Eq. 9 before training), whether it starts
from a reference model's checkpoint, which protocol fields it reads beyond the batch (fingerprinted with its runs),
and :meth:`Declared.from_protocol`, its constructor's keyword arguments for one config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from gerne.data.contract import Split
    from gerne.train.stack import ModelStack


@runtime_checkable
class Step(Protocol):
    """One optimiser step's losses for R stacked runs."""

    loss_names: tuple[str, ...]

    def __call__(self, stack: ModelStack, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ_r loss_r to back-propagate, detached ``[R, len(loss_names)]`` losses); no host synchronisation."""
        ...


@runtime_checkable
class Method(Protocol):
    """A training method for one training split."""

    name: ClassVar[str]
    stackable: ClassVar[bool]  # may several runs of it share one stacked model (vmap)?
    samples_per_batch: int  # set by setup: samples one step draws per run (defines the steps of an epoch)
    y: torch.Tensor  # set by setup: the training labels (their device is the training device)

    def setup(self, train: Split, what: str = "training data") -> None:
        """Prepare sampling on ``train`` and check the options against it (raise ConfigError before training)."""
        ...

    @classmethod
    def stacked(cls, methods: list[Method]) -> Step:
        """The step of ``methods`` (all of this class, each set up) trained side by side."""
        ...


@dataclass(frozen=True)
class Range:
    """The values a method option may take: a test and what it says to a user (``c = 1.5 must be in (0, 1]``)."""

    ok: Callable[[float], bool]
    text: str


C_RANGE = Range(lambda v: 0.0 < v <= 1.0, "in (0, 1] (Eq. 4)")
BETA_RANGE = Range(lambda v: True, "finite (Eq. 9 bounds it on the training groups)")


def uniform_batch(protocol: Any, train: Split) -> int:
    """Samples per step of natural (uniform) sampling: B (``batch_unit: total``, DFA's Vanilla) or as many as a
    class-balanced batch, B per class × K."""
    return int(protocol.batch_size) * (train.num_classes if protocol.batch_unit == "class" else 1)


class Declared:
    """A method's self-description (defaults: a plain method on uniform batches with no options of its own).

    ``protocol`` below is the run's training protocol, read by attribute (``batch_size``, ``batch_unit``,
    ``pseudo_batch_size``, ``track_both_losses``, ``optimizer``, ``weight_decay``, ``momentum``, ``model``,
    ``model_options``, ``holdout``); ``cfg`` the config's values (``c``, ``beta``/``beta_u``, ``lr``, options).
    """

    batch_units: ClassVar[tuple[str, ...]] = ("class", "total")  # protocol.batch_unit values it understands
    options: ClassVar[dict[str, Range]] = {}  # config keys of its own a row may fix or search
    uses_beta: ClassVar[bool] = False  # takes β (checked against Eq. 9 before anything trains)
    needs_reference: ClassVar[bool] = False  # starts from the reference model's checkpoint (its input)
    groupings: ClassVar[tuple[str, ...] | None] = None  # the groupings (gerne.groups) it trains on; None: any
    recorded: ClassVar[tuple[str, ...]] = ()  # protocol fields it reads beyond the batch (fingerprinted)

    @classmethod
    def from_protocol(cls, protocol: Any, train: Split, cfg: dict[str, Any], pseudo: bool,
                      reference: dict[str, Any] | None = None) -> dict[str, Any]:
        """The constructor's keyword arguments for one run: here uniform batches (:func:`uniform_batch`)."""
        return {"batch_size": uniform_batch(protocol, train)}
