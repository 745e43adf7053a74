"""DVC stage `report`: every study's tables from the run summaries, in ``reports/tables/``: a study reported as
Table 1 (``report: table1``) also gets its per-run table (``metrics/cmnist_runs.csv``), C-MNIST's own table, the
headline metrics of ``dvc exp show`` (``metrics/headline.json``), ``reports/REPRODUCTION.md`` and
``reports/baselines.md``; every other study (Table 2, Table 3, the attribution studies, yours) gets its table.
Each table is logged to MLflow."""

from pathlib import Path
from typing import Any

import click
import pandas as pd

from gerne import layout
from gerne.data.registry import KINDS, benchmark_classes
from gerne.io import atomic_path, write_json, write_text
from pipeline._common import params_option, stage
from pipeline._written import log_to_mlflow, wrote
from pipeline.config import Params, load_params
from pipeline.plan import plan
from pipeline.reports import table1
from pipeline.reports.aggregate import collect as collect_runs
from pipeline.reports.aggregate import with_test_selection
from pipeline.reports.attribution import attribution_table
from pipeline.reports.study import columns, row_attributes
from pipeline.reports.table import headline, paper_targets, reproduced, to_markdown
from pipeline.reports.verdict import reproduction
from pipeline.studies.report import collect, study_table, table2, table3

PAPER_TABLES = {"table2": table2, "table3": table3}  # the paper's own layouts (its values beside ours)


def runs_table(p: Params, study: str, out: str) -> pd.DataFrame:
    """Every run summary of the study's datasets × rows × seeds, one row per run and selection rule, with the paper's
    protocol (selection `test`: config and checkpoint chosen on the test metric) beside the recorded rules."""
    cols, rows, seeds = columns(p, study), p.studies.tables[study].rows, p.studies.seeds
    where = [(c.benchmark, c.ratio, c.folder) for c in cols]
    table = collect_runs("runs", where, rows, seeds, allow_missing=True)
    table = with_test_selection(table, "runs", "runs/sweeps", where, rows, seeds,
                                {c.folder: p.datasets[c.dataset].oracle_metric for c in cols})
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    expected = len(cols) * len(rows) * len(seeds)
    found = len(table[table["selection"] != "test"][["benchmark", "ratio", "setting", "seed"]].drop_duplicates())
    wrote([out], f"{found} of {expected} runs, {len(table)} rows (one per run and selection)"
                 + (f"; {expected - found} not run yet" if found < expected else ""))
    return table


def table1_report(p: Params, study: str, item: dict[str, Any]) -> None:
    """Table 1: the C-MNIST column beside the paper's values, every benchmark's columns, the headline metrics, the
    reproduction summary and the baselines report."""
    everything, kind = table1.summary(runs_table(p, study, item["runs_table"])), reproduced()
    own = everything[everything["benchmark"] == kind]  # the reproduced column's own table: the same cells
    table = own.drop(columns=["benchmark", "metric"]).reset_index(drop=True)
    attrs, n_seeds = row_attributes(p, study), len(p.studies.seeds)
    ratios = [c.ratio for c in columns(p, study) if c.benchmark == kind]
    targets = paper_targets(kind)
    out, full = item["out"], item["full"]
    for path, frame in ((f"{out}.csv", table), (f"{full}.csv", everything)):
        with atomic_path(Path(path)) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")
    write_text(f"{out}.md", to_markdown(table, targets, attrs, ratios, n_seeds,
                                        f"Table 1 — {targets['label']} (reproduction)", benchmark_classes(kind)))
    write_text(f"{full}.md", table1.to_markdown(everything, attrs, n_seeds))
    write_json(item["headline"], headline(everything, p.studies.tables[study].headline, top=kind))
    written = [f"{out}.md", f"{out}.csv", f"{full}.md", f"{full}.csv", item["headline"]]
    log_to_mlflow(f"report-{Path(out).name}", written)
    wrote(written, f"{len(table)} cells; logged to MLflow")
    text, baselines = reproduction(p, study, f"{out}.csv", item["runs_table"])
    write_text(item["reproduction"], text)
    write_text(item["baselines"], baselines)
    log_to_mlflow(f"report-{Path(item['reproduction']).stem}", [item["reproduction"], item["baselines"]])
    wrote([item["reproduction"], item["baselines"]],
          f"{len(text.splitlines())} and {len(baselines.splitlines())} lines; logged to MLflow")


def study_report(p: Params, study: str, item: dict[str, Any], runs: pd.DataFrame) -> None:
    """One study's table as Markdown and CSV ("not run" where a run is absent)."""
    if study in PAPER_TABLES:
        text, frame = PAPER_TABLES[study](runs)
    else:
        spec = p.studies.tables[study]
        if spec.report == "attribution":
            text, frame = attribution_table(study, p, spec.datasets, spec.rows, spec.rows_on, runs)
        else:
            text, frame = study_table(study, spec.datasets, spec.rows, runs, p.studies.rows,
                                      {n: p.datasets[n].oracle_metric for n in spec.datasets})
    write_text(item["md"], text)
    with atomic_path(item["csv"]) as tmp:
        frame.to_csv(tmp, index=False)
    used = list(p.studies.table3.datasets if study == "table3" else p.studies.tables[study].datasets)
    if used:  # tables of studies that ran are logged beside their runs (one experiment per dataset)
        log_to_mlflow(study, [item["md"], item["csv"]], used[0] if len(used) == 1 else study)
    wrote([item["md"], item["csv"]], f"from {len(runs)} run selection(s) in runs")


def no_table1(p: Params) -> None:
    """Without a study reported as Table 1 the stage's Table 1 outputs say so (DVC expects every output)."""
    note = "No study in params.yaml reports Table 1 (`report: table1` under studies.tables).\n"
    files = layout.TABLE1
    for path in (files["reproduction"], files["baselines"], f"{files['out']}.md", f"{files['full']}.md"):
        write_text(path, note)
    for path in (files["runs_table"], f"{files['out']}.csv", f"{files['full']}.csv"):
        write_text(path, "")
    write_json(files["headline"], {})


@click.command()
@params_option
@stage
def main(params_path: str) -> None:
    """Write every study's tables (and Table 1's reports) from the run summaries under runs/."""
    p = load_params(params_path)
    work = plan(p)
    Path(layout.TABLES).mkdir(parents=True, exist_ok=True)
    for study, item in work["table1"].items():
        table1_report(p, study, item)
    if not work["table1"]:
        no_table1(p)
    runs = collect("runs", {name: d.dir or name for name, d in p.datasets.items()},
                   {name: KINDS[d.kind].num_classes for name, d in p.datasets.items()})
    for study, item in work["tables"].items():
        study_report(p, study, item, runs)


if __name__ == "__main__":
    main()
