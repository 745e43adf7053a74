"""SubpopBench-style random search: config 0 = the paper's values, configs 1.. = seeded draws (one registry).

A config fixes lr, c, a position ``beta_u`` ∈ [0, 1] inside the admissible β range, t (pseudo-attribute settings)
and dropout (text models). β itself is resolved on the training groups at run time: β = lo + beta_u·(hi − lo) over
[max(−1, Eq. 9 lower bound), Eq. 9 upper bound] (Appendix C searches [−1, β_max]), so every draw is admissible;
where Eq. 9 is unbounded above (balanced groups) the range stops at ``BETA_CAP`` (``gerne.methods.gerne.resolve_beta``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from pipeline.studies.config import Protocol, RowParams
from pipeline.studies.sections import SearchParams

Draw = Callable[[np.random.Generator, Protocol, SearchParams], Any]

# One entry per searched hyper-parameter: how configs 1.. draw it. Config 0 takes the protocol's values.
DISTRIBUTIONS: dict[str, Draw] = {
    "lr": lambda rng, p, s: float(p.lr * 10 ** rng.uniform(-s.lr_spread, s.lr_spread)),
    "c": lambda rng, p, s: float(rng.choice(s.c)),
    "beta_u": lambda rng, p, s: float(rng.uniform(0.0, 1.0)),
    "t": lambda rng, p, s: float(rng.uniform(*s.t)),
    "dropout": lambda rng, p, s: float(rng.choice(s.dropout)),
}


def config0(protocol: Protocol) -> dict[str, Any]:
    """The paper's values (Appendix F); β as given (default 1/c − 1) and t = protocol.t."""
    cfg = {"lr": protocol.lr, "c": protocol.c, "beta": protocol.config0_beta(), "t": protocol.t}
    if protocol.model == "bert":
        cfg["dropout"] = float(protocol.model_options.get("dropout", 0.1))
    return cfg


def configs(protocol: Protocol, search: SearchParams) -> list[dict[str, Any]]:
    """``search.configs`` configurations; draw i uses ``default_rng([search.seed, i])`` (stable when extended)."""
    out = [config0(protocol)]
    names = [n for n in DISTRIBUTIONS if n != "dropout" or protocol.model == "bert"]
    for i in range(1, search.configs):
        rng = np.random.default_rng([search.seed, i])
        out.append({name: DISTRIBUTIONS[name](rng, protocol, search) for name in names})
    return out


def _none(protocol: Protocol, search: SearchParams, row: RowParams) -> list[dict[str, Any]]:
    return [{**config0(protocol), **row.config}]


def _random(protocol: Protocol, search: SearchParams, row: RowParams) -> list[dict[str, Any]]:
    return [{**cfg, **row.config} for cfg in configs(protocol, search)]


def _grid(protocol: Protocol, search: SearchParams, row: RowParams) -> list[dict[str, Any]]:
    base, keys = _none(protocol, search, row)[0], list(row.search)
    return [{**base, **dict(zip(keys, values, strict=True))} for values in itertools.product(*row.search.values())]


# Search spaces by name (a row's ``search``: none, random, or a grid mapping): the configs a row trains, in order.
SPACES: dict[str, Callable[[Protocol, SearchParams, RowParams], list[dict[str, Any]]]] = {
    "none": _none, "random": _random, "grid": _grid}


def space_of(row: RowParams) -> str:
    """The name of ``row``'s search space."""
    return "grid" if isinstance(row.search, dict) else row.search


def row_configs(protocol: Protocol, search: SearchParams, row: RowParams) -> list[dict[str, Any]]:
    """The configs a row trains: config 0 alone (``none``), the seeded random search (``random``) or the full grid
    of ``row.search`` in its order (last key fastest), each with the row's fixed ``config`` values on top."""
    return SPACES[space_of(row)](protocol, search, row)
