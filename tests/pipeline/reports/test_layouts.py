"""Report layouts are registry entries: each names a writer the report stage can call, and a layout added to the
registry is validated against and written by the report stage without any other edit."""

from __future__ import annotations

import inspect
import json
from importlib import import_module
from pathlib import Path

import pandas as pd
import pytest

from gerne.io import write_text
from pipeline import report
from pipeline.reports.layouts import LAYOUTS, TABLE3, Layout
from tests.pipeline.test_stages import RUNS, env, invoke, write_params  # noqa: F401  (env: a fixture)


@pytest.mark.parametrize("name", [*LAYOUTS, "table3"])
def test_every_layout_names_a_writer_taking_params_study_files_and_runs(name: str) -> None:
    entry = LAYOUTS.get(name, TABLE3)
    module, _, function = entry.writer.partition(":")
    writer = getattr(import_module(module), function)
    assert list(inspect.signature(writer).parameters) == ["p", "study", "files", "runs"] and entry.description


def count_runs(p: object, study: str, files: dict[str, str], runs: pd.DataFrame) -> None:
    """A layout of one line per dataset: how many runs the run table holds for it."""
    datasets = p.studies.tables[study].datasets  # type: ignore[attr-defined]
    write_text(files["md"], "".join(f"{d}: {runs[runs['dataset'] == d]['seed'].nunique()} run(s)\n"
                                    for d in datasets))


def test_a_layout_added_to_the_registry_is_validated_and_written_by_the_report_stage(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setitem(LAYOUTS, "counts", Layout("runs per dataset", f"{__name__}:count_runs", min_datasets=1))
    chosen = {"epoch": 2, "metrics": {"test_gba": 0.5}}
    summary = {"selections": {s: chosen for s in ("best_val", "last", "oracle")}, "epochs_run": 2,
               "diverged": False, "seconds_per_epoch": 1.0, "mlflow_run_id": "x"}
    for seed in (0, 1):
        (env / RUNS / "erm").mkdir(parents=True, exist_ok=True)
        (env / RUNS / "erm" / f"seed{seed}.json").write_text(json.dumps(summary))
    params = write_params(env / "p.yaml", **{"studies.tables.mine": {"report": "counts", "datasets": ["cmnist"],
                                                                       "rows": ["erm"]}})
    invoke(report, ["--params", str(params)])
    assert (env / "reports/tables/mine.md").read_text() == "cmnist: 2 run(s)\n"
    empty = write_params(env / "q.yaml", **{"studies.tables.mine": {"report": "counts", "datasets": [],
                                                                      "rows": ["erm"]}})
    refused = invoke(report, ["--params", str(empty)])
    assert refused.exit_code != 0 and "(report: counts) needs at least 1 dataset(s): it writes runs per dataset" \
        in refused.output
