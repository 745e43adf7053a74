"""The method protocol: what the training loop asks of every method, so a new method is one module and one
registry entry, with no edit to the loop.

A method is built from its options, :meth:`Method.setup` on the training split (the attributes it may see are the
split's ``a``), and asked once per fit for a :class:`Step` over the R runs trained together (``stacked``; R = 1
unless ``stackable``). A step draws each run's batch from that run's generator and returns the summed loss to
back-propagate and the detached ``[R, len(loss_names)]`` table of per-step losses that the loop averages per epoch;
by convention the last entry is the objective itself (the loop watches it for divergence).

A method that takes no SGD steps (DFR's convex last-layer fit) defines the class method
``fit(models, methods, eval_splits, cfgs, on_epoch) -> list[TrainResult]`` instead; the loop hands it the runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

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
