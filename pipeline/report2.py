"""DVC stage `report2`: reports/table2.md|csv and reports/table3.md|csv ("not run" where no runs exist)."""

from pathlib import Path

import click

from gerne.io import atomic_path, write_text
from pipeline._common import stage
from pipeline._written import wrote
from pipeline.subpop.report import collect, table2, table3


@click.command()
@click.option("--runs", default="runs/subpop", show_default=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out-dir", default="reports", show_default=True, type=click.Path(file_okay=False))
@stage
def main(runs: str, out_dir: str) -> None:
    """Collect the Datasets-2 run summaries and write Table 2 and Table 3."""
    table = collect(runs)
    written = []
    for name, make in (("table2", table2), ("table3", table3)):
        text, frame = make(table)
        write_text(Path(out_dir) / f"{name}.md", text)
        with atomic_path(Path(out_dir) / f"{name}.csv") as tmp:
            frame.to_csv(tmp, index=False)
        written += [Path(out_dir) / f"{name}.md", Path(out_dir) / f"{name}.csv"]
    wrote([", ".join(map(str, written))], f"from {len(table)} Datasets-2 run(s) in {runs}")


if __name__ == "__main__":
    main()
