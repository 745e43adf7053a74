"""A row's training protocol: its dataset's, with the fields the row sets for the dataset's kind
(``studies.rows.<row>.protocol.<kind>``).

A baseline trained under its own paper's recipe (DFA's Vanilla ERM: Adam, uniform batches of 256, 50,000
iterations on C-MNIST) is a row over the same data, splits and seeds, not another dataset; a kind the row gives no
fields for trains under the dataset's own protocol. The row's fields replace the
dataset's one by one (``model_options`` as a whole); a row that gives a step budget (``steps``) drops the dataset's
epoch budget and the other way round. The result is validated like a declared protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from gerne.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.studies.config import Dataset, RowParams

BUDGETS = ({"steps", "eval_every"}, {"epochs", "steps_per_epoch"})  # a step budget, an epoch budget


def protocol_for(dataset: Dataset, row: RowParams, where: str = "the row") -> Dataset:
    """``dataset``'s declaration with the row's fields for its kind on top (``dataset`` itself when the row sets
    none); ConfigError naming ``where`` and the field when the combination is not a valid protocol."""
    from pipeline.studies.config import Protocol

    own = row.protocol.get(dataset.kind, {})
    if not own:
        return dataset
    fields = dataset.model_dump(include=set(Protocol.model_fields))
    for own_budget, other in (BUDGETS, BUDGETS[::-1]):
        if own_budget & set(own):
            for key in other:
                fields.pop(key, None)
    fields.update(own)
    try:
        checked = Protocol.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'protocol'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: its protocol fields {sorted(own)} over the dataset's do not make a "
                          f"valid protocol ({problems})") from None
    return dataset.model_copy(update={k: getattr(checked, k) for k in Protocol.model_fields})
