"""Every grouping (what attributes a method sees) honours the same contract; each one's own meaning is checked too."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from gerne.core.pseudo import PSEUDO_MINORITY
from gerne.data.contract import Split, load_tensor_dataset
from gerne.errors import ConfigError, DataError
from gerne.groups import GROUPINGS, apply_grouping, list_groupings
from tests.helpers import toy_dataset


@pytest.fixture(scope="module")
def train(tmp_path_factory: pytest.TempPathFactory) -> Split:
    return load_tensor_dataset(toy_dataset(tmp_path_factory.mktemp("toy"), n_per_split=(90, 30, 30)))["train"]


def _inputs(name: str, train: Split) -> dict:
    """Test inputs for grouping ``name``, by the inputs its declaration names (a new kind of input fails by name)."""
    rng = np.random.default_rng(0)
    given = {"attributes": rng.integers(0, 2, len(train)), "scores": rng.uniform(size=len(train))}
    entry = GROUPINGS[name]
    missing = [k for k in entry.inputs if k not in given]
    if missing:
        pytest.fail(f"grouping '{name}' takes {missing}, which this test cannot make: add them to _inputs")
    return {**{k: given[k] for k in entry.inputs}, **({entry.share: 0.2} if entry.share else {})}


@pytest.mark.parametrize("name", sorted(GROUPINGS))
def test_declaration_matches_the_function(name: str) -> None:
    """A grouping's function takes the training split, exactly the inputs it declares and its share option."""
    entry = GROUPINGS[name]
    params = list(inspect.signature(entry.apply).parameters)
    assert entry.name == name and params[0] == "train"
    assert set(params[1:]) == {*entry.inputs, *([entry.share] if entry.share else [])}
    assert entry.label and entry.text and entry.case
    assert not (entry.true_attributes and entry.inputs), "true attributes come with the split, not as inputs"


@pytest.mark.parametrize("name", sorted(GROUPINGS))
def test_contract(name: str, train: Split) -> None:
    """Same samples and labels; attributes are valid indices of the grouping's attribute count."""
    out = apply_grouping(name, train, **_inputs(name, train))
    assert torch.equal(out.x, train.x) and torch.equal(out.y, train.y) and out.num_classes == train.num_classes
    assert out.a.dtype == torch.int64 and len(out.a) == len(train)
    assert int(out.a.min()) >= 0 and int(out.a.max()) < out.num_attributes


def test_meanings(train: Split) -> None:
    assert apply_grouping("known", train) is train
    assert apply_grouping("none", train).num_attributes == 1
    scores = np.linspace(0.01, 0.99, len(train))
    out = apply_grouping("confidence", train, scores=scores, t=0.2)
    for k in range(train.num_classes):  # per class, the least confident fifth is the pseudo-minority
        cls = (train.y == k).numpy()
        minority = out.a.numpy()[cls] == PSEUDO_MINORITY
        assert minority.sum() == pytest.approx(0.2 * cls.sum(), abs=1)
        assert scores[cls][minority].max() < scores[cls][~minority].min()


def test_bad_inputs(train: Split) -> None:
    with pytest.raises(DataError, match="pseudo-attributes for"):
        apply_grouping("pseudo", train, attributes=np.zeros(3, np.int64))
    with pytest.raises(DataError, match="scores hold 3 samples"):
        apply_grouping("confidence", train, scores=np.ones(3), t=0.1)
    with pytest.raises(DataError, match="scores hold 3 samples"):
        apply_grouping("errors", train, scores=np.ones(3))
    with pytest.raises(ConfigError, match="unknown grouping 'pseud' \\(did you mean 'pseudo'\\?\\)"):
        apply_grouping("pseud", train)


def test_what_a_harness_with_scores_can_serve() -> None:
    assert list_groupings(inputs=("scores",)) == ["confidence", "errors", "known", "none"]
    assert list_groupings() == sorted(GROUPINGS) and "pseudo" in GROUPINGS
    assert [n for n, g in GROUPINGS.items() if g.scored] == ["confidence", "errors"]
    assert [n for n, g in GROUPINGS.items() if g.pseudo] == ["pseudo", "confidence", "errors"]


def test_library_paths_use_the_registry() -> None:
    """The harness goes through gerne.groups (no second copy of the grouping code)."""
    root = Path(__file__).resolve().parents[2]
    for rel in ("pipeline/studies/runs.py",):
        text = (root / rel).read_text()
        assert "apply_grouping(" in text and "pseudo_minority_detail" not in text, rel


def test_reference_confidence(train: Split) -> None:
    """softmax(f̃(x))_y per sample, in eval mode, whatever the chunking."""
    from gerne.groups import reference_confidence
    from gerne.models import build_model

    torch.manual_seed(0)
    model = build_model("mlp", tuple(train.x.shape[1:]), train.num_classes, hidden=[8])
    model.train()
    whole = reference_confidence(model, train)
    assert not model.training and whole.dtype == np.float32 and whole.shape == (len(train),)
    with torch.no_grad():
        expected = torch.softmax(model(train.x), 1)[torch.arange(len(train)), train.y].numpy()
    np.testing.assert_allclose(whole, expected, rtol=1e-6)
    np.testing.assert_allclose(reference_confidence(model, train, batch_size=7), whole, rtol=1e-5)
