"""Writers of the study layouts (:mod:`pipeline.reports.layouts`): a study's table as Markdown and CSV, logged to
MLflow beside its runs ("not run" where a run is absent: a report never fails for missing runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from gerne.io import atomic_path, write_text
from pipeline._written import log_to_mlflow, wrote

if TYPE_CHECKING:
    from pipeline.config import Params


def _write(study: str, files: dict[str, Any], text: str, frame: pd.DataFrame, used: list[str],
           runs: pd.DataFrame) -> None:
    """``files['md']`` and ``files['csv']``; logged to MLflow when the study trains on some dataset (the dataset's
    experiment when it has one, else the study's)."""
    write_text(files["md"], text)
    with atomic_path(files["csv"]) as tmp:
        frame.to_csv(tmp, index=False)
    if used:
        log_to_mlflow(study, [files["md"], files["csv"]], used[0] if len(used) == 1 else study)
    wrote([files["md"], files["csv"]], f"from {len(runs)} run selection(s) in runs")


def own(p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
    """A study of your own (layout ``study``)."""
    from pipeline.studies.report import study_table

    spec = p.studies.tables[study]
    text, frame = study_table(study, spec.datasets, spec.rows, runs, p.studies.rows,
                              {n: p.datasets[n].oracle_metric for n in spec.datasets})
    _write(study, files, text, frame, list(spec.datasets), runs)


def paper_table2(p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
    """The paper's Table 2 (layout ``table2``)."""
    from pipeline.studies.report import table2

    used = list(p.studies.tables[study].datasets)
    text, frame = table2(runs, {p.datasets[d].kind: d for d in used})  # a column per kind: a variant fills it
    _write(study, files, text, frame, used, runs)


def paper_table3(p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
    """Appendix G's Table 3 (``studies.table3``)."""
    from pipeline.studies.report import table3

    text, frame = table3(runs)
    _write(study, files, text, frame, list(p.studies.table3.datasets), runs)


def attribution(p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
    """An attribution study (layout ``attribution``)."""
    from pipeline.reports.attribution import attribution_table

    spec = p.studies.tables[study]
    text, frame = attribution_table(study, p, spec.datasets, spec.rows, spec.rows_on, runs)
    _write(study, files, text, frame, list(spec.datasets), runs)
