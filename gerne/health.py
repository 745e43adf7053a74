"""Training health read from a run's per-epoch history: did the run collapse to chance?

A run *collapses* when its classifier stops separating the classes: every input gets (nearly) the same output, so
its accuracy falls to chance and its training cross-entropy climbs to that of a uniform guess, ln K. Such a run
is not *diverged* (its loss stays finite and training goes on), so the loop's ``diverged`` flag misses it; this
module derives the flag from the history every run summary already holds, so committed runs are judged without
being rewritten.

The rule, per epoch: the accuracy named ``accuracy`` (test GBA by default) lies within ``accuracy_tolerance`` of
1/K, and the training loss the epoch records lies within ``loss_tolerance`` nats of ln K. The loss is the first
of :data:`LOSS_KEYS` the epoch records as a finite number (``loss_ce``: the unweighted cross-entropy a reweighting
method logs beside its weighted objective; ``loss_lb``: GERNE's cross-entropy on its less-biased batch; ``loss``:
the method's objective); an epoch that records none of them is judged on its accuracy alone. A run has collapsed
when its last epoch is at chance; it collapsed *from* the first epoch of the unbroken stretch of at-chance epochs
that ends there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

ACCURACY_TOLERANCE = 0.005  # accuracy as a fraction: half a point either side of 1/K
LOSS_TOLERANCE = 0.1  # nats either side of ln K (a uniform guess; ln 10 ≈ 2.303)
LOSS_KEYS = ("loss_ce", "loss_lb", "loss")


def _finite(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def training_loss(epoch: Mapping[str, object]) -> float | None:
    """The epoch's training cross-entropy as the collapse rule reads it: the first of :data:`LOSS_KEYS` recorded
    as a finite number, or None when it records none."""
    return next((v for k in LOSS_KEYS if (v := _finite(epoch.get(k))) is not None), None)


def at_chance(epoch: Mapping[str, object], num_classes: int, accuracy: str = "test_gba",
              accuracy_tolerance: float = ACCURACY_TOLERANCE, loss_tolerance: float = LOSS_TOLERANCE) -> bool:
    """True if one history entry is at chance: ``accuracy`` within ``accuracy_tolerance`` of 1/K and its training
    loss (:func:`training_loss`, where recorded) within ``loss_tolerance`` nats of ln K."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    acc = _finite(epoch.get(accuracy))
    if acc is None or abs(acc - 1.0 / num_classes) > accuracy_tolerance:
        return False
    loss = training_loss(epoch)
    return loss is None or abs(loss - math.log(num_classes)) <= loss_tolerance


def collapse_epoch(history: Sequence[Mapping[str, object]], num_classes: int, **rule: float | str) -> int | None:
    """The epoch from which the run stays at chance to its end (:func:`at_chance` on every entry from there on),
    or None when its last epoch is not at chance (or it has no history). ``rule``: :func:`at_chance`'s options."""
    first = None
    for entry in reversed(history):
        if not at_chance(entry, num_classes, **rule):
            break
        first = entry
    if first is None:
        return None
    return int(first.get("epoch", history.index(first) + 1))


def collapsed(history: Sequence[Mapping[str, object]], num_classes: int, **rule: float | str) -> bool:
    """True if the run ended at chance (its last history entry is :func:`at_chance`)."""
    return collapse_epoch(history, num_classes, **rule) is not None


def describe_rule(num_classes: int | None = None) -> str:
    """The rule in words, for a report's footnote (with K's values when ``num_classes`` is given)."""
    chance = "1/K" if num_classes is None else f"1/K = {100.0 / num_classes:.2f} %"
    ln_k = "ln K" if num_classes is None else f"ln K = {math.log(num_classes):.3f}"
    return (f"at its last epoch test GBA is within {100 * ACCURACY_TOLERANCE:g} points of chance ({chance}) and its "
            f"training cross-entropy, where recorded (the first of {', '.join(f'`{k}`' for k in LOSS_KEYS)} logged), "
            f"within {LOSS_TOLERANCE:g} nats of a uniform guess's, {ln_k}")
