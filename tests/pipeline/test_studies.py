"""Declared datasets through DVC for real: a Waterbirds release in its real layout, fetched from a mirror directory,
and a user's own PNG dataset read in place."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.data.fixtures import waterbirds_release
from tests.pipeline.conftest import only_study, run


def _switch_on(root: Path, env: dict[str, str], mirror: Path, counts: dict) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    st = params["studies"]
    st.update(seeds=[0, 1], device="cpu")
    only_study(params, "table2", {"report": "table2", "datasets": ["waterbirds"],
                                  "rows": ["yes_yes"]})  # pseudo rows: test_own_dataset.py
    st["search"]["configs"] = 2
    params["datasets"]["waterbirds"].update(model="resnet18", model_options={"pretrained": False},
                                            prepare={"image_size": 16, "expected_counts": counts}, steps=4,
                                            eval_every=2, batch_size=2, eval_batch_size=8, precision="fp32")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "local.yaml").write_text(f"mirrors:\n  waterbirds: {mirror}\n")  # this machine's copy, no param


@pytest.mark.integration
def test_default_design_reports_datasets2_as_not_run(project_copy: tuple[Path, dict[str, str]]) -> None:
    root, env = project_copy
    for folder in ("runs", "models", "data"):  # what the earlier stages leave (runs/ is in git in a real clone)
        (root / folder).mkdir(parents=True, exist_ok=True)
    run(["dvc", "repro", "--single-item", "report"], root, env)  # the report stage alone, on no runs at all
    md = (root / "reports/tables/table2.md").read_text()
    assert md.count("not run") == 2 * 3 * 3 and "91.98 ± 0.15" in md
    assert "not run" in (root / "reports/tables/table3.md").read_text()
    assert "not run" in (root / "reports/tables/table1_cmnist.md").read_text()


@pytest.mark.integration
def test_waterbirds_fetch_prepare_search_report(project_copy: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = project_copy
    tar, counts = waterbirds_release(tmp_path / "mirror")
    _switch_on(root, env, tar.parent, counts)
    run(["dvc", "repro", "report"], root, env)
    assert not (root / "models/waterbirds").exists()  # true-attribute rows never need the biased model

    sums = json.loads((root / "data/raw/waterbirds/checksums.json").read_text())
    assert sums[tar.name].startswith("sha256:")  # no published checksum: computed and recorded
    assert json.loads((root / "data/waterbirds/counts.json").read_text())["splits"] == counts
    for setting in ("yes_yes",):
        for seed in (0, 1):
            summary = json.loads((root / f"runs/waterbirds/{setting}/seed{seed}.json").read_text())
            assert [h["step"] for h in summary["history"]] == [2.0, 4.0]
    table = pd.read_csv(root / "reports/tables/table2.csv")
    done = table[(table.dataset == "waterbirds") & (table.setting == "yes_yes")]
    assert len(done) == 2 and (done["n"] == 2).all() and done["ours_mean"].between(0, 100).all()
    assert (table[(table.dataset != "waterbirds") | (table.setting != "yes_yes")]["n"] == 0).all()
    assert json.loads(run(["dvc", "status", "--json", "report"], root, env).stdout) == {}  # up to date

    # a release whose group counts differ from the expected ones is refused, and the prepared folder stays as it was
    kept = {p: p.read_bytes() for p in sorted((root / "data/waterbirds").rglob("*")) if p.is_file()}
    wrong = {**counts, "test": {**counts["test"], "1,1": counts["test"]["1,1"] + 5}}
    _switch_on(root, env, tar.parent, wrong)
    proc = run(["dvc", "repro", "data"], root, env, check=False)
    assert proc.returncode != 0
    assert "1,1" in proc.stdout + proc.stderr and "expected" in (proc.stdout + proc.stderr)
    assert {p: p.read_bytes() for p in sorted((root / "data/waterbirds").rglob("*")) if p.is_file()} == kept
    assert json.loads((root / "data/waterbirds/counts.json").read_text())["splits"] == counts  # kept
