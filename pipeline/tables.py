"""DVC stage `tables@<study>`: the report table of a study (Table 2, Table 3, or one of yours) from its runs."""


import click

from gerne.io import atomic_path, write_text
from pipeline._common import params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.config import Params
from pipeline.plan import load_planned
from pipeline.reports.attribution import attribution_table
from pipeline.studies.report import collect, study_table, table2, table3

# the paper's tables have their own layout (paper values beside ours); every other study gets study_table
PAPER_TABLES = {"table2": table2, "table3": table3}


def _datasets(p: Params, study: str) -> list[str]:
    return list(p.studies.table3.datasets if study == "table3" else p.studies.tables[study].datasets)


@click.command()
@params_option
@click.option("--study", required=True, help="table2, table3 or a name under studies.tables.")
@click.option("--runs", default="runs", show_default=True, type=click.Path(file_okay=False))
@click.option("--md", "md_path", required=True, type=click.Path(dir_okay=False))
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False))
@stage
def main(params_path: str, study: str, runs: str, md_path: str, csv_path: str) -> None:
    """Collect the run summaries under RUNS and write STUDY's table as Markdown and CSV ("not run" where absent)."""
    p = load_planned(params_path)
    from gerne.data.registry import KINDS

    table = collect(runs, {name: d.dir or name for name, d in p.datasets.items()},
                    {name: KINDS[d.kind].num_classes for name, d in p.datasets.items()})
    if study in PAPER_TABLES:
        text, frame = PAPER_TABLES[study](table)
    else:
        spec = p.studies.tables[study]
        if spec.report == "attribution":
            text, frame = attribution_table(study, p, spec.datasets, spec.rows, spec.rows_on, table)
        else:
            text, frame = study_table(study, spec.datasets, spec.rows, table, p.studies.rows,
                                          {n: p.datasets[n].oracle_metric for n in spec.datasets})
    write_text(md_path, text)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    used = _datasets(p, study)
    if used:  # tables of studies that ran are logged beside their runs (one experiment per dataset)
        log_to_mlflow(study, [md_path, csv_path], used[0] if len(used) == 1 else study)
    wrote([md_path, csv_path], f"from {len(table)} run selection(s) in {runs}")


if __name__ == "__main__":
    main()
