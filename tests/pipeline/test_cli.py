"""The `gerne` console command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import REPO
from tests.helpers import set_dotted, toy_dataset, without_class_in_train


@pytest.mark.parametrize("sub", [[], ["validate"], ["bounds"], ["tracking-uri"], ["ui"], ["server"], ["store-init"]])
def test_help_on_every_subcommand(sub: list[str]) -> None:
    result = CliRunner().invoke(main, [*sub, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_validate_committed_params() -> None:
    result = CliRunner().invoke(main, ["validate", "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 0, result.output
    assert "9 dataset(s): 69 row(s) × 3 seeds, 21 search(es) of 229 configs" in result.output
    # 16 sweeps with test_selection (2 more seeds each at most), Fig. 3's sweep with every seed (REPRODUCTION.md's
    # "Runs counted")
    assert "(16 with test_selection) + every point's other seeds (1 with every_seed_on) = 558 runs at most" \
        in result.output and "5 reference model(s)" in result.output
    # what it counts: each winner's search-seed run once, as its grid point (REPRODUCTION.md's "Runs counted")
    assert "each winner's search-seed run is its grid point, counted once), plus " in result.output


def test_validate_counts_each_rows_own_search(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "params.yaml").read_text())
    data["studies"]["rows"]["grid"] = {"method": "gerne", "groups": "known", "search": {"beta": [0.0, 1.0, 2.0]}}
    data["studies"]["tables"] = {"table2": {"datasets": ["waterbirds"], "rows": ["yes_yes", "resample", "grid"]}}
    data.pop("figures")
    for row in data["studies"]["rows"].copy():  # Fig. 2's rows above Eq. 9 exist for the figure only
        if data["studies"]["rows"][row].get("beyond_eq9_bound"):
            data["studies"]["rows"].pop(row)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", "--params", str(tmp_path / "p.yaml")])
    assert result.exit_code == 0, result.output
    assert "1 dataset(s): 1 row(s) × 3 seeds, 2 search(es) of 19 configs + the winners' other seeds" in result.output
    assert "(0 with test_selection) + every point's other seeds (0 with every_seed_on) = 26 runs at most" \
        in result.output
    assert "each winner's search-seed run is its grid point, counted once), plus " in result.output


def test_validate_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    text = (REPO / "params.yaml").read_text()
    gerne_known = "{method: gerne, groups: known, select: val_gba, search: none, config: {c: 0.5, beta: 1.0}}"
    assert text.count(gerne_known) == 1
    bad.write_text(text.replace(gerne_known, gerne_known.replace("c: 0.5", "c: 1.5")))
    result = CliRunner().invoke(main, ["validate", "--params", str(bad)])
    assert result.exit_code == 1 and "studies.rows.gerne_known.config" in result.output


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


def _pseudo_file(data_root: Path, key: str, minority_per_class: int) -> Path:
    """A pseudo.npz beside the toy C-MNIST 0.5 %: ``minority_per_class`` training samples of each class in group 1."""
    import numpy as np

    from gerne.data.contract import load_metadata

    meta, _, _ = load_metadata(data_root / "cmnist" / "r0.5")
    y = meta.loc[meta["split"] == "train", "y"].to_numpy()
    a = np.zeros(len(y), dtype=np.int64)
    for cls in np.unique(y):
        a[np.flatnonzero(y == cls)[:minority_per_class]] = 1
    path = data_root.parent / "models" / "cmnist" / "r0.5" / "pseudo.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, **{key: a})
    return path


def test_validate_misspelled_key_gives_the_hint(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text((REPO / "params.yaml").read_text().replace("    epochs: 65 ", "    epoch: 3 ", 1))
    result = _validate(bad, tmp_path)
    assert result.exit_code == 1
    assert "datasets.cmnist.epoch" in result.output and "did you mean 'epochs'" in result.output


def test_validate_beta_outside_eq9_on_prepared_data(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"studies.rows.gerne_known.config.beta": 5.0}), tmp_path / "data")
    assert result.exit_code == 1
    out = result.output
    assert "studies.rows.gerne_known: beta = 5.0 (c = 0.5; trained on cmnist) is refused on the known" in out
    assert "outside the Eq. 9 bounds" in out and "Choose beta in [" in out
    assert "np." not in out


def test_validate_fig2_row_checked_on_the_figures_dataset(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"studies.rows.fig2_beta_1p2.config.beta": 9.0}), tmp_path / "data")
    assert result.exit_code == 1 and "studies.rows.fig2_beta_1p2: beta = 9.0" in result.output


def test_validate_warns_but_passes_a_beyond_eq9_override_row(tmp_path: Path) -> None:
    """beyond_eq9_bound (Fig. 2 only) turns the refusal into a loud warning for that row; any other row with the same
    β is still refused with the same message."""
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")  # Eq. 9 at c = 0.5: [-1.0619, 2.0390]
    ok = _validate(_params(tmp_path, **{"studies.rows.fig2_beta_1p3.config.beta": 9.0}), tmp_path / "data")
    assert ok.exit_code == 0, ok.output
    assert "WARNING: studies.rows.fig2_beta_1p3: beta = 9.0 (c = 0.5; trained on cmnist) is outside Eq. 9 on the " \
           "known training groups of cmnist and trained anyway: beyond_eq9_bound: true" in ok.output
    assert "beta = 9.0 is outside the Eq. 9 bounds [-1.0619, 2.0390]" in ok.output
    bad = _validate(_params(tmp_path, **{"studies.rows.fig2_beta_1p2.config.beta": 9.0,
                                         "studies.rows.fig2_beta_1p3.config.beta": 9.0}), tmp_path / "data")
    assert bad.exit_code == 1 and "error: studies.rows.fig2_beta_1p2: beta = 9.0 (c = 0.5; trained on cmnist) is " \
           "refused on the known training groups of cmnist: beta = 9.0 is outside the Eq. 9 bounds" in bad.output
    assert "error: studies.rows.fig2_beta_1p3" not in bad.output


def test_validate_committed_design_on_prepared_data(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(REPO / "params.yaml", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert "β (Eq. 9) on cmnist: 11 row(s) checked on" in result.output  # the rows whose method takes β
    assert "gerne_unknown not checked yet" in result.output
    assert "β (Eq. 9) on cmnist_r1: not checked" in result.output
    assert "runs when the stage has the data" in result.output


def test_validate_stale_prepared_data_names_the_prepare_stage(tmp_path: Path) -> None:
    """Data prepared before their table was fixed (a class only in val/test): a one-line error naming the folder, the
    problem and the stage that prepares it again, exit 1, no traceback."""
    without_class_in_train(toy_dataset(tmp_path / "data" / "cmnist" / "r0.5"))
    result = _validate(REPO / "params.yaml", tmp_path / "data")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    folder = tmp_path / "data" / "cmnist" / "r0.5"
    assert (f"error: {folder} (cmnist) is stale or inconsistent prepared data: class y = 2 never occurs in the train "
            f"split (only in val: 50 row(s), test: 100 row(s)). Prepare it again: `rm -r {folder} && dvc repro` (the "
            "data stage rebuilds what is missing)\n") in result.output


def test_validate_search_configs_outside_eq9_are_not_errors(tmp_path: Path) -> None:
    toy_dataset(tmp_path / "data" / "cmnist" / "r0.5")
    result = _validate(_params(tmp_path, **{"studies.rows.gerne_tuned_known.search.beta": [0.5, 50.0]}),
                       tmp_path / "data")
    assert result.exit_code == 0, result.output


def test_validate_without_data_says_when_beta_is_checked(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"studies.rows.gerne_known.config.beta": 5.0}), tmp_path / "nothing")
    assert result.exit_code == 0, result.output
    design = yaml.safe_load((REPO / "params.yaml").read_text())
    used = {d for t in design["studies"]["tables"].values() for d in t["datasets"]}  # Table 1's ratios, the
    assert result.output.count("the check runs when the stage has the data") == len(used)  # attribution's variants


def test_validate_pseudo_row_on_the_pseudo_groups(tmp_path: Path) -> None:
    root = tmp_path / "data"
    toy_dataset(root / "cmnist" / "r0.5")
    _pseudo_file(root, "t=0.005", minority_per_class=10)  # t = 1.0 × 0.5 %
    ok = _validate(REPO / "params.yaml", root)
    assert ok.exit_code == 0, ok.output
    assert "β (Eq. 9) on cmnist: 12 row(s) checked on" in ok.output
    bad = _validate(_params(tmp_path, **{"studies.rows.gerne_unknown.config.beta": 5.0}), root)
    assert bad.exit_code == 1
    assert "studies.rows.gerne_unknown: beta = 5.0 (c = 0.5; trained on cmnist) is refused on the pseudo-groups (t = " \
           "0.005)" in bad.output
    assert "confidence training attributes of cmnist" in bad.output and "Choose beta in [" in bad.output


def test_validate_stale_pseudo_file_is_not_checked_yet(tmp_path: Path) -> None:
    root = tmp_path / "data"
    toy_dataset(root / "cmnist" / "r0.5")
    _pseudo_file(root, "t=0.001", minority_per_class=10)  # derived for other thresholds
    result = _validate(_params(tmp_path, **{"studies.rows.gerne_unknown.config.beta": 5.0}), root)
    assert result.exit_code == 0, result.output
    assert "gerne_unknown not checked yet" in result.output
    assert "has no pseudo-attributes for t = 0.005" in result.output


def test_validate_unknown_model_name(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"datasets.cmnist.model": "mpl"}), tmp_path)
    assert result.exit_code == 1 and "datasets.cmnist.model" in result.output and "did you mean 'mlp'" in result.output


def test_validate_gpu_device_name(tmp_path: Path) -> None:
    result = _validate(_params(tmp_path, **{"studies.device": "gpu"}), tmp_path)
    assert result.exit_code == 1 and "studies.device" in result.output and "cuda:<n>" in result.output


def test_validate_refuses_a_params_file_without_studies_seeds(tmp_path: Path) -> None:
    """Every train stage lists studies.seeds as a DVC parameter: DVC refuses it when the key is missing, so
    validation does too instead of defaulting it."""
    result = _validate(_params(tmp_path, **{"studies.seeds": None}), tmp_path)
    assert result.exit_code == 1
    assert "studies.seeds: missing: add it (the training seeds, e.g. [0, 1, 2]" in result.output


MINE = {"kind": "own", "root": "mydata", "prepare": {"image_size": 8, "attributes": False}, "model": "mlp",
        "steps": 20, "eval_every": 10, "lr": 1.0e-2, "weight_decay": 0.0, "batch_size": 4, "c": 0.5,
        "precision": "fp32"}


def test_validate_refuses_an_own_dataset_whose_folder_is_missing(tmp_path: Path) -> None:
    """The data stage reads the folder in place: validation names the missing folder or table
    and the fix, as the stage would refuse it."""
    params = _params(tmp_path, **{"datasets.mine": MINE, "studies.tables.mine": {"datasets": ["mine"],
                                                                                "rows": ["no_no"]}})
    missing = _validate(params, tmp_path / "data")
    assert missing.exit_code == 1
    assert f"error: datasets.mine.root: the folder {tmp_path / 'mydata'} does not exist; the data stage reads" in \
        missing.output and "or set root to the folder that holds them" in missing.output
    (tmp_path / "mydata").mkdir()
    no_table = _validate(params, tmp_path / "data")
    assert no_table.exit_code == 1
    assert f"error: datasets.mine.root: {tmp_path / 'mydata' / 'metadata.csv'} is missing" in no_table.output
    (tmp_path / "mydata" / "metadata.csv").write_text("id,filename,split,y\n")
    ok = _validate(params, tmp_path / "data")
    assert ok.exit_code == 0, ok.output
