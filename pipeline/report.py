"""DVC stage `report`: every study's report from the run summaries. One collector reads every summary of the
declared datasets into one run table (:mod:`pipeline.reports.runs`); each study of ``studies.tables`` is written by
the layout its ``report:`` names (:mod:`pipeline.reports.layouts`: ``study``, ``table1``, ``table2``,
``attribution``), Table 3 by its own; every table is logged to MLflow. Without a Table 1 study, Table 1's outputs
say so (DVC expects every output)."""

from pathlib import Path

import click

from gerne import layout
from pipeline._common import params_option, stage
from pipeline.config import load_params
from pipeline.plan import plan
from pipeline.reports import table1_files
from pipeline.reports.layouts import LAYOUTS, TABLE3
from pipeline.reports.runs import collect, sources


@click.command()
@params_option
@stage
def main(params_path: str) -> None:
    """Write every study's tables (and Table 1's reports) from the run summaries under runs/."""
    p = load_params(params_path)
    work = plan(p)
    Path(layout.TABLES).mkdir(parents=True, exist_ok=True)
    runs = collect("runs", sources(p))  # the one run table: every report is a view of it
    for study, spec in p.studies.tables.items():
        LAYOUTS[spec.report].write(p, study, work["table1"].get(study) or work["tables"][study], runs)
    if not work["table1"]:
        table1_files.none()
    TABLE3.write(p, "table3", work["tables"]["table3"], runs)


if __name__ == "__main__":
    main()
