"""BERT classifier for CivilComments (BENCHMARKS.md: BertModel pooled output → dropout → linear; METHOD.md: BERT base).

Inputs are token ids N×L (int64 or int32) padded with ``pad_id`` (0 for bert-base-uncased); the attention mask is
``ids != pad_id``. ``dropout`` is the last-layer dropout that SubpopBench tunes for text (default 0.5, searched over
{0, 0.1, 0.5}); BERT's internal dropouts keep their configured values.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gerne.errors import ConfigError
from gerne.models.pretrained import hf_from_pretrained


class BertClassifier(nn.Module):
    """``transformers.BertModel`` + dropout + Linear(hidden → K) on the pooled ([CLS]) output."""

    def __init__(self, num_classes: int, *, checkpoint: str = "bert-base-uncased", pretrained: bool = True,
                 dropout: float = 0.5, pad_id: int = 0, vocab_size: int = 30522, hidden_size: int = 768,
                 num_layers: int = 12, num_heads: int = 12, intermediate_size: int = 3072,
                 max_positions: int = 512) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel  # imported here: transformers takes seconds to import

        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout}")
        if pretrained:
            self.bert = hf_from_pretrained(BertModel.from_pretrained, checkpoint, add_pooling_layer=True)
        else:
            config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                                num_attention_heads=num_heads, intermediate_size=intermediate_size,
                                max_position_embeddings=max_positions, pad_token_id=pad_id)
            self.bert = BertModel(config, add_pooling_layer=True)
        self.pad_id = int(pad_id)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.bert.config.hidden_size, num_classes)

    @property
    def max_length(self) -> int:
        """Longest sequence the position embeddings cover."""
        return int(self.bert.config.max_position_embeddings)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """Pooled output N×hidden for token ids N×L."""
        if ids.is_floating_point() or ids.dim() != 2:
            raise ValueError(f"BERT expects integer token ids N×L, got {ids.dtype} of shape {tuple(ids.shape)}")
        ids = ids.long()
        return self.bert(input_ids=ids, attention_mask=(ids != self.pad_id).long()).pooler_output

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits N×K."""
        return self.fc(self.dropout(self.features(ids)))


def build_bert(input_shape: tuple[int, ...], num_classes: int, **options: Any) -> BertClassifier:
    """Registry entry: ``input_shape`` is (L,), the padded sequence length; options as ``BertClassifier``."""
    if len(input_shape) != 1:
        raise ConfigError(f"BERT needs token-id sequences of shape (L,), the data has samples of shape {input_shape}")
    model = BertClassifier(num_classes, **options)
    if input_shape[0] > model.max_length:
        raise ConfigError(f"sequence length {input_shape[0]} exceeds BERT's {model.max_length} positions")
    return model
