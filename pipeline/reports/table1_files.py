"""Table 1's files (layout ``table1``): the study's per-run table (``metrics/cmnist_runs.csv``), the reproduced
benchmark's column and every benchmark's columns beside the paper's values, the headline metrics of ``dvc exp show``
(``metrics/headline.json``), ``reports/REPRODUCTION.md`` and ``reports/baselines.md``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gerne import layout
from gerne.data.registry import benchmark_classes
from gerne.io import atomic_path, write_json, write_text
from pipeline._written import log_to_mlflow, wrote
from pipeline.reports import table1
from pipeline.reports.runs import sources, table1_runs, with_test_selection
from pipeline.reports.study import columns, row_attributes
from pipeline.reports.table import headline, paper_targets, reproduced, to_markdown
from pipeline.reports.verdict import reproduction

if TYPE_CHECKING:
    from pipeline.config import Params


def runs_table(p: Params, study: str, out: str, runs: pd.DataFrame) -> pd.DataFrame:
    """The study's view of the run table ``runs``: its datasets × rows × seeds, one row per run and selection
    rule, with the paper's protocol (selection `test`: config and checkpoint chosen on the test metric) beside the
    recorded rules."""
    cols, rows, seeds = columns(p, study), p.studies.tables[study].rows, p.studies.seeds
    table = with_test_selection(table1_runs(runs, cols, rows, seeds), "runs", "runs/sweeps", cols, rows, seeds,
                                sources(p), {c.dataset: p.datasets[c.dataset].oracle_metric for c in cols})
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    expected = len(cols) * len(rows) * len(seeds)
    found = len(table[table["selection"] != "test"][["benchmark", "ratio", "setting", "seed"]].drop_duplicates())
    wrote([out], f"{found} of {expected} runs, {len(table)} rows (one per run and selection)"
                 + (f"; {expected - found} not run yet" if found < expected else ""))
    return table


def write(p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
    """Table 1: the C-MNIST column beside the paper's values, every benchmark's columns, the headline metrics, the
    reproduction summary and the baselines report."""
    everything, kind = table1.summary(runs_table(p, study, files["runs_table"], runs)), reproduced()
    own = everything[everything["benchmark"] == kind]  # the reproduced column's own table: the same cells
    table = own.drop(columns=["benchmark", "metric"]).reset_index(drop=True)
    attrs, n_seeds = row_attributes(p, study), len(p.studies.seeds)
    ratios = [c.ratio for c in columns(p, study) if c.benchmark == kind]
    targets = paper_targets(kind)
    out, full = files["out"], files["full"]
    for path, frame in ((f"{out}.csv", table), (f"{full}.csv", everything)):
        with atomic_path(Path(path)) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")
    write_text(f"{out}.md", to_markdown(table, targets, attrs, ratios, n_seeds,
                                        f"Table 1 — {targets['label']} (reproduction)", benchmark_classes(kind)))
    write_text(f"{full}.md", table1.to_markdown(everything, attrs, n_seeds))
    write_json(files["headline"], headline(everything, p.studies.tables[study].headline, top=kind))
    written = [f"{out}.md", f"{out}.csv", f"{full}.md", f"{full}.csv", files["headline"]]
    log_to_mlflow(f"report-{Path(out).name}", written)
    wrote(written, f"{len(table)} cells; logged to MLflow")
    text, baselines = reproduction(p, study, f"{out}.csv", files["runs_table"])
    write_text(files["reproduction"], text)
    write_text(files["baselines"], baselines)
    log_to_mlflow(f"report-{Path(files['reproduction']).stem}", [files["reproduction"], files["baselines"]])
    wrote([files["reproduction"], files["baselines"]],
          f"{len(text.splitlines())} and {len(baselines.splitlines())} lines; logged to MLflow")


def none() -> None:
    """Without a study reported as Table 1 the stage's Table 1 outputs say so (DVC expects every output)."""
    note = "No study in params.yaml reports Table 1 (`report: table1` under studies.tables).\n"
    files = layout.TABLE1
    for path in (files["reproduction"], files["baselines"], f"{files['out']}.md", f"{files['full']}.md"):
        write_text(path, note)
    for path in (files["runs_table"], f"{files['out']}.csv", f"{files['full']}.csv"):
        write_text(path, "")
    write_json(files["headline"], {})
