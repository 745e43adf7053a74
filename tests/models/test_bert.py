"""BERT classifier: pooled output → dropout → linear, mask from pad ids, offline error (tiny random config)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gerne.errors import ConfigError
from gerne.models import build_model

TINY = {"pretrained": False, "vocab_size": 50, "hidden_size": 32, "num_layers": 2, "num_heads": 2,
        "intermediate_size": 37, "max_positions": 64}


def _tiny(length: int = 12, **options: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("bert", (length,), 3, **{**TINY, **options})


def test_forward_backward() -> None:
    model = _tiny(dropout=0.1)
    ids = torch.randint(1, 50, (4, 12))
    ids[:, 8:] = 0
    logits = model(ids)
    assert logits.shape == (4, 3) and logits.dtype == torch.float32
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 0])).backward()
    assert model.fc.weight.grad is not None
    assert model.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    assert model.fc.in_features == 32 and len(model.bert.encoder.layer) == 2


def test_mask_from_pad_ids() -> None:
    model = _tiny().eval()
    ids = torch.tensor([[2, 7, 9, 4, 0, 0, 0, 0]])
    with torch.no_grad():
        padded, trimmed = model(ids), model(ids[:, :4])
        torch.testing.assert_close(padded, trimmed, rtol=1e-5, atol=1e-5)  # pads are masked out
        torch.testing.assert_close(model(ids.int()), padded, rtol=0, atol=0)  # int32 ids work the same
        other_pad = _tiny(pad_id=7).eval()
        other_pad.load_state_dict(model.state_dict())
        assert not torch.allclose(other_pad(ids), padded)  # now 0 is a token and 7 is masked


def test_dropout_option() -> None:
    model = _tiny(dropout=0.25)
    assert model.dropout.p == 0.25
    assert _tiny().dropout.p == 0.5  # SubpopBench's default last-layer dropout for text
    ids = torch.randint(1, 50, (8, 12))
    for p, differs in ((0.0, False), (0.9, True)):
        model = _tiny(dropout=p)
        model.train()
        model.bert.eval()  # only the head's dropout stays random
        with torch.no_grad():
            assert (not torch.equal(model(ids), model(ids))) == differs
    with pytest.raises(ConfigError, match="dropout"):
        _tiny(dropout=1.0)


@pytest.mark.parametrize(("shape", "match"), [((100,), "exceeds"), ((12, 2), r"shape \(L,\)")])
def test_rejects_bad_input_shapes(shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_model("bert", shape, 2, **TINY)


def test_offline_without_files_says_where_to_put_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    with pytest.raises(ConfigError) as info:
        build_model("bert", (16,), 2)
    msg = str(info.value)
    assert str(tmp_path / "hub") in msg and "huggingface-cli download bert-base-uncased" in msg
    assert "pretrained: false" in msg
