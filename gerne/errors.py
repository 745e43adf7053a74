"""Error types raised by the library. Every message names the problem and the fix."""


class GerneError(Exception):
    """Base class: a user-facing error whose message says what went wrong and how to fix it."""


class ConfigError(GerneError, ValueError):
    """Invalid parameters (unknown key, out-of-range value, β outside Eq. 9's bounds, ...)."""


class DataError(GerneError):
    """Missing, corrupt or inconsistent data files."""
