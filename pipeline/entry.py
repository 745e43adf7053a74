"""The ``gerne`` command: the pipeline's CLI, or one line saying how to install it where only the library is."""

from __future__ import annotations


def main() -> None:
    try:
        from pipeline.cli import main as cli
    except ModuleNotFoundError as exc:
        raise SystemExit(f"gerne: the pipeline's command needs its extras ({exc.name} is missing); install them with "
                         "`pip install 'gerne[pipeline]'` (or `make setup` in the repository). The library itself "
                         "(import gerne, gerne.loop) needs only torch and numpy.") from exc
    cli()
