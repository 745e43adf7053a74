"""Error types raised by the library. Every message names the problem and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GerneError(Exception):
    """Base class: a user-facing error whose message says what went wrong and how to fix it."""


class ConfigError(GerneError, ValueError):
    """Invalid parameters (unknown key, out-of-range value, β outside Eq. 9's bounds, ...)."""


def unknown_name(what: str, name: str, names: Iterable[str]) -> ConfigError:
    """The error for ``name`` missing from a registry: a did-you-mean hint and the registered ``names``."""
    known = sorted(names)
    hint = difflib.get_close_matches(name, known, n=1)
    return ConfigError(f"unknown {what} '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                       + f"; available: {known}")


class DataError(GerneError):
    """Missing, corrupt or inconsistent data files."""


class PreparedDataError(DataError):
    """A prepared dataset folder that breaks the dataset contract: prepared by older code, from raw files fixed
    since, or edited by hand. The fix is always to prepare it again; :meth:`for_dataset` names the command that does."""

    def __init__(self, folder: object, problem: str) -> None:
        self.folder, self.problem = folder, problem
        super().__init__(self.for_dataset(None))

    def for_dataset(self, dataset: str | None) -> str:
        """The message with the exact command that prepares ``dataset`` again (a placeholder when unknown)."""
        what = f" ({dataset})" if dataset else ""
        return (f"{self.folder}{what} is stale or inconsistent prepared data: {self.problem}. Prepare it again: "
                f"`rm -r {self.folder} && dvc repro` (the data stage rebuilds what is missing)")
