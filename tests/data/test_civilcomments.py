"""CivilComments (Fine variant) preparation on a tiny WILDS-format release with a tiny offline BERT vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gerne.data import civilcomments
from gerne.data.contract import load_tensor_dataset
from gerne.errors import DataError
from tests.data.fixtures import bert_vocab_dir, civilcomments_release, civilcomments_rows, extract_tar

LENGTH = 16


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """``(raw_dir, counts, tokenizer_dir)``."""
    root = tmp_path_factory.mktemp("civil")
    tar, counts = civilcomments_release(root)
    return extract_tar(tar, root / "raw"), counts, bert_vocab_dir(root / "tokenizer")


@pytest.fixture(scope="module")
def prepared(release: tuple[Path, dict, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, counts, tok_dir = release
    out = tmp_path_factory.mktemp("civil_out")
    civilcomments.prepare(raw, out, tokenizer=str(tok_dir), max_length=LENGTH, expected_counts=counts,
                          local_files_only=True)
    return out


def test_sources_and_no_published_counts() -> None:
    (source,) = civilcomments.SOURCES
    assert source.name == "civilcomments_v1.0.tar.gz" and source.size == 90644480 and source.extract
    assert civilcomments.PUBLISHED_COUNTS is None and len(civilcomments.IDENTITIES) == 8


def test_fine_rows_labels_and_counts(prepared: Path, release: tuple[Path, dict, Path]) -> None:
    _, counts, _ = release
    meta = pd.read_csv(prepared / "metadata.csv")
    expected = civilcomments_rows()
    assert list(zip(meta["source_id"], meta["split"], meta["y"], meta["a"], strict=True)) == expected
    assert meta["id"].tolist() == list(range(len(expected)))
    assert 239581 not in set(meta["source_id"])  # female 0.49: no identity, dropped
    assert meta.loc[meta["source_id"] == 239583].empty  # other_religion (singular) is not an identity here
    info = json.loads((prepared / "counts.json").read_text())
    assert info["num_classes"] == 2 and info["num_attributes"] == 8 and info["splits"] == counts
    assert len(info["splits"]["train"]) == 16
    assert json.loads((prepared / "tokenizer.json").read_text())["pad_token_id"] == 0


def test_tokens(prepared: Path) -> None:
    tokens = np.load(prepared / "tokens.npy")
    meta = pd.read_csv(prepared / "metadata.csv")
    assert tokens.dtype == np.int32 and tokens.shape == (len(meta), LENGTH)
    assert (tokens[:, 0] == 2).all()  # [CLS]
    first = tokens[0]  # "You are so right, my friend." (lower-cased WordPiece)
    assert first[:9].tolist() == [2, 5, 6, 7, 8, 16, 9, 10, 17] and first[9] == 3 and (first[10:] == 0).all()
    long_rows = np.flatnonzero(meta["source_id"] == 239584)
    assert len(long_rows) == 2 and (tokens[long_rows[0]] == tokens[long_rows[1]]).all()
    assert tokens[long_rows[0], -1] == 3 and (tokens[long_rows[0]] != 0).all()  # truncated, ends with [SEP]
    empty = tokens[np.flatnonzero(meta["source_id"] == 239585)[0]]  # missing comment text
    assert empty[:2].tolist() == [2, 3] and (empty[2:] == 0).all()
    splits = load_tensor_dataset(prepared)
    assert splits["train"].x.dtype.is_floating_point is False and splits["train"].x.shape[1] == LENGTH


def test_tokenizer_object_and_nested_folder(release: tuple[Path, dict, Path], prepared: Path, tmp_path: Path) -> None:
    from transformers import BertTokenizerFast

    raw, counts, tok_dir = release
    nested = tmp_path / "raw" / "civilcomments_v1.0"
    nested.mkdir(parents=True)
    (nested / civilcomments.FILE).symlink_to(raw / civilcomments.FILE)
    tok = BertTokenizerFast.from_pretrained(str(tok_dir))
    civilcomments.prepare(tmp_path / "raw", tmp_path / "out", tokenizer=tok, max_length=LENGTH)  # counts recorded
    assert np.array_equal(np.load(tmp_path / "out" / "tokens.npy"), np.load(prepared / "tokens.npy"))
    assert json.loads((tmp_path / "out" / "counts.json").read_text())["splits"] == counts


def test_count_mismatch(release: tuple[Path, dict, Path], tmp_path: Path) -> None:
    raw, counts, tok_dir = release
    wrong = {s: dict(c) for s, c in counts.items()}
    wrong["val"]["0,2"] += 1
    with pytest.raises(DataError, match=r"val \(y,a\)=\(0,2\): expected 1, found 0"):
        civilcomments.prepare(raw, tmp_path / "out", tokenizer=str(tok_dir), max_length=LENGTH, expected_counts=wrong)
    assert not (tmp_path / "out" / "counts.json").exists() and not (tmp_path / "out" / "tokens.npy").exists()


def test_offline_tokenizer_error(release: tuple[Path, dict, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DataError, match="cannot load the tokenizer 'gerne-test/no-such-tokenizer'") as err:
        civilcomments.prepare(release[0], tmp_path / "out", tokenizer="gerne-test/no-such-tokenizer",
                              local_files_only=True)
    assert "AutoTokenizer.from_pretrained" in str(err.value) and "vocab.txt" in str(err.value)


def test_bad_files(tmp_path: Path, release: tuple[Path, dict, Path]) -> None:
    with pytest.raises(DataError, match="all_data_with_identities"):
        civilcomments.prepare(tmp_path, tmp_path / "out", tokenizer=str(release[2]))
    pd.DataFrame({"id": [1], "comment_text": ["x"], "split": ["train"], "toxicity": [0.1]}).to_csv(
        tmp_path / civilcomments.FILE, index=False)
    with pytest.raises(DataError, match="lacks columns"):
        civilcomments.prepare(tmp_path, tmp_path / "out", tokenizer=str(release[2]))
