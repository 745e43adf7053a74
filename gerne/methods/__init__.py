"""Training methods by name. A method turns a training split into one loss per optimiser step; the protocol the
training loop relies on is in ``gerne.methods.base``. Add a method with one module and one entry here."""

from __future__ import annotations

from typing import Any

from gerne.errors import unknown_name
from gerne.methods.dfr import Dfr
from gerne.methods.erm import Erm
from gerne.methods.gerne import Gerne
from gerne.methods.groupdro import GroupDro
from gerne.methods.jtt import Jtt
from gerne.methods.lff import Lff
from gerne.methods.reweight import Reweight, SqrtReweight
from gerne.methods.sw import SamplingWeighting

METHODS: dict[str, type] = {m.name: m for m in (Gerne, Erm, GroupDro, Reweight, SqrtReweight, SamplingWeighting,
                                                  Lff, Jtt, Dfr)}


def build_method(name: str, **options: Any) -> Any:
    """Instantiate method ``name`` with its options."""
    if name not in METHODS:
        raise unknown_name("method", name, METHODS)
    return METHODS[name](**options)
