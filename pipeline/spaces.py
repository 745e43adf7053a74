"""Search spaces by name: what a hyper-parameter sweep tries, one list of points per (params, target).

``grid`` is Table 1's full grid over ``sweep.<kind>`` (C-MNIST; target = ``known`` or ``unknown``), points in a
fixed order; ``random`` is Table 2's SubpopBench search over ``studies.search`` (target = a declared dataset):
config 0 = the paper's values, draw i seeded by ``[search.seed, i]``, so extending a search keeps its first
configs. Add a space by a function ``(params, target) -> list[dict]`` and its entry in ``SPACES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gerne.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.config import Params


def grid_space(params: Params, target: str) -> list[dict[str, Any]]:
    from pipeline.runs.sweep import grid

    if params.sweep is None or target not in ("known", "unknown"):
        raise ConfigError(f"the grid space needs a `sweep` section and a kind (known/unknown), got '{target}'")
    return grid(params, target)


def random_space(params: Params, target: str) -> list[dict[str, Any]]:
    from pipeline.studies.search import configs

    if target not in params.datasets:
        raise ConfigError(f"the random space needs a declared dataset, got '{target}'")
    return configs(params.datasets[target], params.studies.search)


SPACES: dict[str, Callable[[Params, str], list[dict[str, Any]]]] = {"grid": grid_space, "random": random_space}


def points(space: str, params: Params, target: str) -> list[dict[str, Any]]:
    """The points of search space ``space`` for ``target`` (ConfigError naming the known spaces)."""
    if space not in SPACES:
        raise ConfigError(f"unknown search space '{space}'; available: {sorted(SPACES)}")
    return SPACES[space](params, target)
