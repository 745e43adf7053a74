"""CivilComments (WILDS v1.0, SubpopBench "Fine" variant): y = toxic, a = the identity mentioned.

``all_data_with_identities.csv`` holds one comment per row (``id, comment_text, split, toxicity``, identity scores).
y = 1[toxicity ≥ 0.5]; each comment yields one row per identity of :data:`IDENTITIES` scoring ≥ 0.5 (a = its index),
comments mentioning none are dropped. Texts are tokenized (bert-base-uncased, max length 220, padded/truncated) into
int32 ``tokens.npy``; ``metadata.csv`` keeps the comment id as ``source_id``. No published counts: they are recorded.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gerne.data.counts import REDOWNLOAD, Counts, Prepared, locate, write_checked
from gerne.data.sources import Source
from gerne.errors import DataError
from gerne.io import write_json

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

NAME = "civilcomments"
FILE = "all_data_with_identities.csv"
SOURCES = [
    Source("civilcomments_v1.0.tar.gz",
           urls=("https://worksheets.codalab.org/rest/bundles/0x8cd3de0634154aeaad2ee6eb96723c6e/contents/blob/",),
           size=90644480, extract=True),
]
IDENTITIES = ("male", "female", "LGBTQ", "christian", "muslim", "other_religions", "black", "white")
NUM_CLASSES, NUM_ATTRIBUTES = 2, len(IDENTITIES)
THRESHOLD = 0.5
TOKENIZER = "bert-base-uncased"
MAX_LENGTH = 220
BATCH = 2048  # comments tokenized at a time
PUBLISHED_COUNTS: dict[str, dict[str, int]] | None = None  # BENCHMARKS.md publishes none: computed and recorded


def load_tokenizer(name: str = TOKENIZER, local_files_only: bool = False) -> PreTrainedTokenizerBase:
    """``AutoTokenizer.from_pretrained(name)`` (a hub name or a directory); a DataError explains how to get it."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name, local_files_only=local_files_only)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"cannot load the tokenizer {name!r} ({exc}). On a machine with internet access run "
            f"`python -c \"from transformers import AutoTokenizer; AutoTokenizer.from_pretrained('{name}')\"` to fill "
            "the Hugging Face cache (HF_HOME, default ~/.cache/huggingface) and copy that cache here, or place the "
            "tokenizer files (vocab.txt, tokenizer_config.json) in a directory and pass its path as the tokenizer"
        ) from exc


def read_comments(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The columns of ``all_data_with_identities.csv`` that the Fine variant needs."""
    needed = ["id", "comment_text", "split", "toxicity", *IDENTITIES]
    try:
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in needed if c not in header]
        if missing:
            raise DataError(f"{path} lacks columns {missing}; is this WILDS CivilComments v1.0? {REDOWNLOAD}")
        frame = pd.read_csv(path, usecols=needed)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path} cannot be parsed ({exc}); {REDOWNLOAD}") from exc
    frame[list(IDENTITIES)] = frame[list(IDENTITIES)].fillna(0.0)
    frame["comment_text"] = frame["comment_text"].fillna("").astype(str)
    return frame


def fine_table(comments: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Fine variant: ``(table, rows)`` where row ``i`` of ``table`` is comment ``rows[i]`` with its ``a``-th identity.

    Rows are comment-major (file order), identities in :data:`IDENTITIES` order within a comment.
    """
    rows, a = np.nonzero(comments[list(IDENTITIES)].to_numpy(dtype=np.float64) >= THRESHOLD)
    table = pd.DataFrame({
        "id": np.arange(len(rows), dtype=np.int64),
        "split": comments["split"].to_numpy()[rows],
        "y": (comments["toxicity"].to_numpy(dtype=np.float64)[rows] >= THRESHOLD).astype(np.int64),
        "a": a.astype(np.int64),
        "source_id": comments["id"].to_numpy()[rows],
    })
    return table, rows


def _tokenize_into(out: np.ndarray, texts: list[str], repeats: np.ndarray, tokenizer: PreTrainedTokenizerBase,
                   max_length: int) -> None:
    """Write the padded token ids of ``texts[j]`` into ``repeats[j]`` consecutive rows of ``out``."""
    offsets = np.concatenate([[0], np.cumsum(repeats)])
    for lo in range(0, len(texts), BATCH):
        hi = min(lo + BATCH, len(texts))
        ids = tokenizer(texts[lo:hi], max_length=max_length, padding="max_length", truncation=True,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        out[offsets[lo] : offsets[hi]] = np.repeat(np.asarray(ids, dtype=np.int32), repeats[lo:hi], axis=0)


def prepare(
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    tokenizer: str | PreTrainedTokenizerBase = TOKENIZER,
    max_length: int = MAX_LENGTH,
    expected_counts: Counts | None = None,
    local_files_only: bool = False,
) -> Prepared:
    """Prepare the Fine variant from ``raw_dir`` (holding ``all_data_with_identities.csv``, directly or under
    ``civilcomments_v1.0/``) into ``out_dir``: ``tokens.npy`` (int32 N×max_length), ``metadata.csv``,
    ``counts.json`` and ``tokenizer.json``. ``tokenizer`` is a name/directory or a tokenizer object; counts are
    checked only when ``expected_counts`` is given.
    """
    path = locate(raw_dir, [FILE, f"civilcomments_v1.0/{FILE}"], f"CivilComments {FILE}")
    tok = load_tokenizer(tokenizer, local_files_only) if isinstance(tokenizer, str) else tokenizer
    comments = read_comments(path)
    table, rows = fine_table(comments)
    kept, repeats = np.unique(rows, return_counts=True)  # rows are sorted, so kept comments stay in order
    texts = comments["comment_text"].to_numpy()[kept].tolist()
    prepared = write_checked(
        out_dir, table, array_name="tokens.npy", row_shape=(max_length,), dtype=np.int32,
        fill=lambda out: _tokenize_into(out, texts, repeats, tok, max_length),
        num_classes=NUM_CLASSES, num_attributes=NUM_ATTRIBUTES,
        expected=PUBLISHED_COUNTS if expected_counts is None else expected_counts, dataset=NAME,
    )
    write_json(prepared.out_dir / "tokenizer.json", {
        "name": tokenizer if isinstance(tokenizer, str) else getattr(tok, "name_or_path", type(tok).__name__),
        "max_length": max_length, "pad_token_id": tok.pad_token_id, "identities": list(IDENTITIES),
    })
    return prepared
