"""Prepared data survive a refused or failed preparation (real `dvc repro` in a temp copy of the project), and stages
that read stale prepared data end in one line naming the command that prepares it again, never in a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from pipeline import train
from tests.helpers import toy_dataset, without_class_in_train
from tests.pipeline.conftest import only_study, run
from tests.pipeline.test_own_dataset import OWN, write_png_dataset
from tests.pipeline.test_stages import TOY, train_args, write_params


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _set_kind(root: Path, kind: str) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["datasets"]["mine"]["kind"] = kind
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.integration
def test_refused_prepare_leaves_the_prepared_folder_byte_identical(project_copy: tuple[Path, dict[str, str]]) -> None:
    root, env = project_copy
    write_png_dataset(root / "mydata", n_train=16, n_eval=8)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["datasets"]["mine"] = OWN
    only_study(params, "mine", {"datasets": ["mine"], "rows": ["erm"]})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro", "data"], root, env)
    kept = _tree(root / "data")
    assert "mine/images.npy" in kept and "mine/counts.json" in kept

    def refused() -> str:
        proc = run(["dvc", "repro", "data"], root, env, check=False)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
        assert _tree(root / "data") == kept
        assert sorted(p.name for p in (root / "data").iterdir()) == ["mine"]  # no partial copy left beside it
        return proc.stderr

    _set_kind(root, "onw")  # a typo: the stage refuses the params
    assert "onw" in refused()
    _set_kind(root, "own")
    table = pd.read_csv(root / "mydata/metadata.csv")
    table.loc[table.index[table["split"] == "val"][0], "y"] = 2  # a class only in val: an edit in place, seen
    table.to_csv(root / "mydata/metadata.csv", index=False)
    message = refused()
    assert "mydata/metadata.csv: class y = 2 never occurs in the train split (only in val: 1 row(s))" in message
    assert "add train rows of it" in message

    # fixed (and a few rows fewer): the new folder replaces the old one whole, a file it no longer has goes with it
    table.drop(table.index[table["split"] == "val"][:2]).to_csv(root / "mydata/metadata.csv", index=False)
    (root / "data/mine/stale.txt").write_text("from an older preparation")
    run(["dvc", "repro", "data"], root, env)
    assert sorted(p.name for p in (root / "data/mine").iterdir()) == ["counts.json", "images.npy", "metadata.csv",
                                                                        "prepared.json"]
    assert len(pd.read_csv(root / "data/mine/metadata.csv")) == 16 + 6 + 8
    again = run(["dvc", "repro", "data"], root, env)  # nothing changed since: the folder is kept as it is
    assert "data/mine is current" in again.stdout + again.stderr


@pytest.mark.parametrize("stage", ["train", "reference"])
def test_a_stage_on_stale_prepared_data_names_the_prepare_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                stage: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    without_class_in_train(toy_dataset(tmp_path / TOY, n_per_split=(30, 9, 12)))
    params = write_params(tmp_path / "p.yaml")
    args = train_args(params, "erm") if stage == "train" else ["--params", str(params), "--only", "reference"]
    result = CliRunner().invoke(train.main, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.output.splitlines()[-1] == (
        f"error: {TOY} is stale or inconsistent prepared data: class y = 2 never occurs in the train split (only in "
        f"val: 3 row(s), test: 4 row(s)). Prepare it again: `rm -r {TOY} && dvc repro` (the data stage rebuilds "
        "what is missing)")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "models").exists()  # refused before any write
