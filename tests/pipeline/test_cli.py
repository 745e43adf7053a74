"""The `gerne` console command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import REPO
from tests.helpers import set_dotted, toy_dataset


@pytest.mark.parametrize("sub", [[], ["validate"], ["bounds"], ["tracking-uri"], ["ui"], ["trial"], ["plan"]])
def test_help_on_every_subcommand(sub: list[str]) -> None:
    result = CliRunner().invoke(main, [*sub, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_validate_committed_params() -> None:
    result = CliRunner().invoke(main, ["validate", "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 0 and "72 runs" in result.output and "140 grid points" in result.output


def test_validate_counts_each_rows_own_search(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data["studies"]["rows"]["resample"] = {"method": "gerne", "groups": "known", "config": {"c": 1.0, "beta": 0.0},
                                           "search": "none"}
    data["studies"]["rows"]["grid"] = {"method": "gerne", "groups": "known", "search": {"beta": [0.0, 1.0, 2.0]}}
    data["studies"]["tables"]["table2"].update(datasets=["waterbirds"], rows=["yes_yes", "resample", "grid"])
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", "--params", str(tmp_path / "p.yaml")])
    assert result.exit_code == 0, result.output
    assert "3 dataset × row searches of 20 configs in all + 2 more seeds each = 26 runs at most" in result.output


def test_validate_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text((REPO / "params.yaml").read_text().replace("c: 0.5", "c: 1.5", 1))
    result = CliRunner().invoke(main, ["validate", "--params", str(bad)])
    assert result.exit_code == 1 and "settings.gerne_known.c" in result.output


def test_bounds_prints_shares_and_checks_beta(tmp_path: Path) -> None:
    data = toy_dataset(tmp_path / "toy")
    ok = CliRunner().invoke(main, ["bounds", "--data", str(data), "--c", "0.5"])
    assert ok.exit_code == 0 and "beta bounds (Eq. 9) for c = 0.5" in ok.output
    bad = CliRunner().invoke(main, ["bounds", "--data", str(data), "--c", "0.5", "--beta", "50"])
    assert bad.exit_code == 1 and "outside the Eq. 9 bounds" in bad.output
    bad_c = CliRunner().invoke(main, ["bounds", "--data", str(data), "--c", "0"])
    assert bad_c.exit_code == 1 and "outside (0, 1]" in bad_c.output


def test_tracking_uri_honours_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////x/y.db")
    assert CliRunner().invoke(main, ["tracking-uri"]).output.strip() == "sqlite:////x/y.db"


# ---------------------------------------------------------------- validate refuses what a stage would refuse

def _params(tmp_path: Path, **changes: object) -> Path:
    """The committed params.yaml with dotted-key changes."""
    import yaml

    data = set_dotted(yaml.safe_load((REPO / "params.yaml").read_text()), **changes)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _validate(params: Path, data_root: Path):
    return CliRunner().invoke(main, ["validate", "--params", str(params), "--data-root", str(data_root)])


def _pseudo_file(data_root: Path, ratio: float, key: str, minority_per_class: int) -> Path:
    """A pseudo.npz beside a toy dataset: ``minority_per_class`` training samples of each class in group 1."""
    import numpy as np

    from gerne.data.contract import load_metadata

    meta, _, _ = load_metadata(data_root / "cmnist" / f"r{ratio}")
    y = meta.loc[meta["split"] == "train", "y"].to_numpy()
    a = np.zeros(len(y), dtype=np.int64)
    for cls in np.unique(y):
        a[np.flatnonzero(y == cls)[:minority_per_class]] = 1
    path = data_root / "pseudo" / "cmnist" / f"r{ratio}" / "pseudo.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, **{key: a})
    return path


def test_validate_misspelled_key_gives_the_hint(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text((REPO / "params.yaml").read_text().replace("  epochs: 65 ", "  epoch: 3 ", 1))
    result = _validate(bad, tmp_path)
    assert result.exit_code == 1
    assert "train.epoch" in result.output and "did you mean 'epochs'" in result.output


def test_validate_beta_outside_eq9_on_prepared_data(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"settings.gerne_known.beta": 5.0}), tmp_path / "data")
    assert result.exit_code == 1
    out = result.output
    assert "settings.gerne_known.beta = 5.0 (c = 0.5; trained at 0.5 % via run_settings.known)" in out
    assert "outside the Eq. 9 bounds" in out and "Choose beta in [" in out
    assert str(tmp_path / "data" / "cmnist" / "r0.5") in out
    assert "np." not in out


def test_validate_fig2_setting_checked_at_the_figures_ratio(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"settings.fig2_beta_1p2.beta": 9.0}), tmp_path / "data")
    assert result.exit_code == 1 and "settings.fig2_beta_1p2.beta = 9.0" in result.output
    assert "figures.fig2_settings" in result.output


def test_validate_committed_design_on_prepared_data(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(REPO / "params.yaml", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "β (Eq. 9) at 0.5 %: 7 setting(s) checked on" in result.output
    assert "gerne_unknown (attributes: pseudo) not checked yet" in result.output
    assert "β (Eq. 9) at 1.0 %: not checked" in result.output and "runs when the stage has the data" in result.output


def test_validate_sweep_points_outside_eq9_are_not_errors(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"sweep.known.beta": [0.5, 50.0]}), tmp_path / "data")
    assert result.exit_code == 0, result.output


def test_validate_without_data_says_when_beta_is_checked(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"settings.gerne_known.beta": 5.0}), tmp_path / "nothing")
    assert result.exit_code == 0, result.output
    assert result.output.count("the check runs when the stage has the data") == 4


def test_validate_pseudo_setting_on_the_pseudo_groups(tmp_path: Path) -> None:
    root = tmp_path / "data"
    toy_dataset(root / "cmnist" / "r0.5")
    _pseudo_file(root, 0.5, "t=0.005", minority_per_class=10)  # t = 1.0 × 0.5 % (pseudo.t_scale: ratio)
    ok = _validate(REPO / "params.yaml", root)
    assert ok.exit_code == 0, ok.output
    assert "1 on the pseudo-groups of" in ok.output
    bad = _validate(_params(tmp_path, **{"settings.gerne_unknown.beta": 5.0}), root)
    assert bad.exit_code == 1
    assert "settings.gerne_unknown.beta = 5.0 (c = 0.5, t = 1.0;" in bad.output
    assert "pseudo training attributes of cmnist 0.5%" in bad.output and "Choose beta in [" in bad.output


def test_validate_stale_pseudo_file_is_not_checked_yet(tmp_path: Path) -> None:
    root = tmp_path / "data"
    toy_dataset(root / "cmnist" / "r0.5")
    _pseudo_file(root, 0.5, "t=0.001", minority_per_class=10)  # derived for other thresholds
    result = _validate(_params(tmp_path, **{"settings.gerne_unknown.beta": 5.0}), root)
    assert result.exit_code == 0, result.output
    assert "gerne_unknown not checked yet" in result.output
    assert "no pseudo-attributes for its t = 0.005" in result.output


def test_validate_unknown_model_name(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"model.name": "mpl"}), tmp_path)
    assert result.exit_code == 1 and "model.name" in result.output and "did you mean 'mlp'" in result.output


def test_validate_gpu_device_name(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"train.device": "gpu"}), tmp_path)
    assert result.exit_code == 1 and "train.device" in result.output and "cuda:<n>" in result.output
