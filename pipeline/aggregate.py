"""DVC stage `aggregate@<study>`: every run summary of Table 1's datasets × rows × seeds into one CSV (a row per run
and selection rule)."""

import click

from gerne.io import atomic_path
from pipeline._common import params_option, stage
from pipeline._written import wrote
from pipeline.plan import load_planned
from pipeline.reports.aggregate import collect, with_test_selection
from pipeline.reports.study import columns


@click.command()
@params_option
@click.option("--study", default="table1", show_default=True, help="The study reported as Table 1.")
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Directory of run summaries (runs/<dataset folder>/<row>/seed<n>.json).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output CSV.")
@click.option("--sweeps", default="runs/sweeps", show_default=True, type=click.Path(file_okay=False),
              help="Directory of the searches (runs/sweeps/<dataset folder>/<row>/): the test selection's configs.")
@click.option("--allow-missing", is_flag=True, help="Leave out runs without a summary (the report marks them).")
@stage
def main(params_path: str, study: str, runs: str, sweeps: str, out: str, allow_missing: bool) -> None:
    """Collect the summaries of the study's datasets × rows × studies.seeds, with the paper's protocol (selection
    `test`: config and checkpoint chosen on the test metric) beside the rules the runs recorded."""
    p = load_planned(params_path)
    cols, rows, seeds = columns(p, study), p.studies.tables[study].rows, p.studies.seeds
    where = [(c.benchmark, c.ratio, c.folder) for c in cols]
    table = collect(runs, where, rows, seeds, allow_missing=allow_missing)
    table = with_test_selection(table, runs, sweeps, where, rows, seeds,
                                {c.folder: p.datasets[c.dataset].oracle_metric for c in cols})
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    expected = len(cols) * len(rows) * len(seeds)
    found = len(table[table["selection"] != "test"][["benchmark", "ratio", "setting", "seed"]].drop_duplicates())
    wrote([out], f"{found} of {expected} runs, {len(table)} rows (one per run and selection)"
                 + (f"; {expected - found} not run yet" if found < expected else ""))


if __name__ == "__main__":
    main()
