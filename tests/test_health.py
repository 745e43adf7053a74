"""The collapse rule (gerne/health.py) on hand-made histories: chance accuracy and a uniform guess's loss, together."""

from __future__ import annotations

import math

import pytest

from gerne.health import at_chance, collapse_epoch, collapsed, describe_rule, training_loss

LN10 = math.log(10)


def _epoch(epoch: int, gba: float, **losses: float) -> dict[str, float]:
    return {"epoch": epoch, "test_gba": gba, **losses}


def test_chance_needs_both_the_accuracy_and_the_loss() -> None:
    assert at_chance(_epoch(1, 0.1, loss_ce=2.35), 10)
    assert not at_chance(_epoch(1, 0.1, loss_ce=2.0), 10)  # at chance on test, but still fitting the training data
    assert not at_chance(_epoch(1, 0.14, loss_ce=LN10), 10)  # a uniform guess's loss, above-chance accuracy
    assert at_chance(_epoch(1, 0.5, loss=math.log(2)), 2)  # two classes: chance 50 %, ln 2
    assert at_chance(_epoch(1, 0.1), 10)  # no loss recorded (e.g. DFR's refit): the accuracy alone decides
    assert not at_chance({"epoch": 1}, 10)  # no accuracy: never at chance
    with pytest.raises(ValueError, match="num_classes"):
        at_chance(_epoch(1, 1.0), 1)


def test_training_loss_prefers_the_unweighted_cross_entropy() -> None:
    assert training_loss({"loss": 9.0, "loss_ce": 2.3}) == 2.3  # reweighting: the weighted objective is `loss`
    assert training_loss({"loss_b": 0.1, "loss_lb": 2.3, "loss_ext": 5.0}) == 2.3  # GERNE: the less-biased batch
    assert training_loss({"loss_ce": math.nan, "loss": 2.3}) == 2.3  # a loss not computed is skipped
    assert training_loss({"error_share": 0.1}) is None


def test_collapse_is_the_stretch_at_chance_that_reaches_the_last_epoch() -> None:
    history = [_epoch(1, 0.3, loss_ce=1.9), _epoch(2, 0.1, loss_ce=2.3), _epoch(3, 0.25, loss_ce=2.0),
               _epoch(4, 0.1, loss_ce=2.35), _epoch(5, 0.1, loss_ce=2.33)]
    assert collapse_epoch(history, 10) == 4  # epoch 2 was at chance too, but the run recovered at epoch 3
    assert collapsed(history, 10)
    recovered = [*history, _epoch(6, 0.2, loss_ce=2.1)]
    assert collapse_epoch(recovered, 10) is None and not collapsed(recovered, 10)
    assert collapse_epoch([], 10) is None
    assert collapse_epoch([{"test_gba": 0.1}, {"test_gba": 0.1}], 10) == 1  # entries without an epoch: 1-based
    assert collapse_epoch(history, 10, loss_tolerance=0.01) is None  # the tolerances are options


def test_diverged_runs_are_judged_on_their_accuracy() -> None:
    nan_loss = [_epoch(1, 0.4, loss=1.0), _epoch(2, 0.1, loss=math.nan)]
    assert collapse_epoch(nan_loss, 10) == 2  # no finite loss left: a run predicting one class is at chance


def test_the_rule_in_words_names_its_thresholds() -> None:
    words = describe_rule(10)
    assert "0.5 points of chance (1/K = 10.00 %)" in words and "0.1 nats" in words and "ln K = 2.303" in words
    assert "`loss_ce`, `loss_lb`, `loss`" in words
    assert "(1/K)" in describe_rule() and "ln K" in describe_rule()
