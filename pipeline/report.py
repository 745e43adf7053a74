"""DVC stage `report`: Table 1's C-MNIST column (markdown + CSV) beside the paper's values."""

from pathlib import Path

import click
import pandas as pd

from gerne.config import load_params
from gerne.io import atomic_path, write_text
from gerne.report.table import paper_targets, summarise, to_markdown, with_paper
from pipeline._common import params_option, stage


@click.command()
@params_option
@click.option("--runs-table", required=True, type=click.Path(dir_okay=False, exists=True), help="Aggregate CSV.")
@click.option("--out", required=True, help="Output path without extension (.md and .csv are written).")
@stage
def main(params_path: str, runs_table: str, out: str) -> None:
    """Write <out>.md and <out>.csv."""
    p = load_params(params_path)
    targets = paper_targets("cmnist")
    table = with_paper(summarise(pd.read_csv(runs_table), targets["metric"]), targets)
    attrs = p.table_settings()
    with atomic_path(Path(f"{out}.csv")) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    write_text(f"{out}.md", to_markdown(table, targets, attrs, p.cmnist.ratios, len(p.train.seeds),
                                        "Table 1 — C-MNIST (reproduction)"))


if __name__ == "__main__":
    main()
