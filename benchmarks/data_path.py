"""`python -m benchmarks.data_path`: image data path before/after preparation → reports/benchmarks_data.md (+ JSON)."""

import click

from benchmarks.measure.data_path import data_path, to_markdown
from benchmarks.measure.suite import machine
from gerne.io import write_json, write_text
from gerne.system import keep_large_allocations


@click.command()
@click.option("--out", default="reports/benchmarks_data.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--json", "json_path", default="metrics/benchmarks_data.json", show_default=True)
@click.option("--images", default=128, show_default=True, type=int, help="JPEGs to decode.")
def main(out: str, json_path: str, images: int) -> None:
    """Print and write the before/after table."""
    keep_large_allocations()  # as every training stage does
    result = data_path(n_images=images)
    text = to_markdown(result, machine())
    click.echo(text)
    write_text(out, text)
    write_json(json_path, result)


if __name__ == "__main__":
    main()
