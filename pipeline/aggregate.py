"""DVC stage `aggregate`: every run summary of the current design into one CSV (a row per run and selection)."""

import click

from gerne.io import atomic_path
from pipeline._common import params_option, stage
from pipeline._written import wrote
from pipeline.config import load_params
from pipeline.reports.aggregate import collect


@click.command()
@params_option
@click.option("--runs", required=True, type=click.Path(file_okay=False), help="Directory of run summaries.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@click.option("--allow-missing", is_flag=True, help="Leave out runs without a summary (the report marks them).")
@stage
def main(params_path: str, runs: str, out: str, allow_missing: bool) -> None:
    """Collect the summaries of ratios × run_settings × seeds."""
    p = load_params(params_path)
    table = collect(runs, p.cmnist.ratios, list(p.table_settings()), p.train.seeds, allow_missing=allow_missing)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    expected = len(p.cmnist.ratios) * len(p.table_settings()) * len(p.train.seeds)
    found = len(table[["ratio", "setting", "seed"]].drop_duplicates())
    wrote([out], f"{found} of {expected} runs, {len(table)} rows (one per run and selection)"
                 + (f"; {expected - found} not run yet" if found < expected else ""))


if __name__ == "__main__":
    main()
