"""Shared wiring of the stage commands: logging, params loading, clean failure (message + exit 1)."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from gerne.errors import GerneError, PreparedDataError
from gerne.system import keep_large_allocations
from gerne.tracking import interrupt

params_option = click.option("--params", "params_path", default="params.yaml", show_default=True,
                             type=click.Path(dir_okay=False), help="Parameter file to validate and use.")
ratio_option = click.option("--ratio", required=True, type=float,
                            help="Bias-conflicting share in percent (one of cmnist.ratios).")
dataset_option = click.option("--dataset", required=True, help="A declared dataset (params.yaml: datasets).")
data_option = click.option("--data", required=True, type=click.Path(file_okay=False),
                           help="Prepared dataset directory (metadata.csv, images.npy, counts.json).")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: raised like Ctrl-C, so open MLflow runs close as KILLED and partial outputs stay
    out of the results."""


def raise_on_termination() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Terminated`, and Ctrl-C into KeyboardInterrupt, raised only between
    MLflow store writes (``gerne.tracking.interrupt``), so the runs can still be closed as KILLED."""

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        interrupt(KeyboardInterrupt("Ctrl-C") if signum == signal.SIGINT else Terminated(f"received {name}"))

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, handler)


def stage(func: Callable[..., Any]) -> Callable[..., Any]:
    """Configure logging and malloc, and turn library errors into a one-line message and exit status 1 (for stale
    prepared data, naming the command that rebuilds it); SIGTERM, SIGHUP and Ctrl-C end the
    stage with status 130 after closing its MLflow runs as KILLED."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
        for noisy in ("alembic", "mlflow", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        keep_large_allocations()  # reuse large batch buffers without page faults (results unchanged)
        raise_on_termination()
        try:
            return func(*args, **kwargs)
        except PreparedDataError as exc:  # stale prepared data: name the stage that prepares it again
            click.echo(f"error: {exc.for_dataset(kwargs.get('dataset'))}", err=True)
            sys.exit(1)
        except GerneError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as exc:
            click.echo(f"interrupted ({exc or 'Ctrl-C'}): previous results are left as they were", err=True)
            sys.exit(130)

    return wrapper
