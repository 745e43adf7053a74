"""The `gerne` console command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gerne.cli import main
from tests.conftest import REPO
from tests.helpers import toy_dataset


@pytest.mark.parametrize("sub", [[], ["validate"], ["bounds"], ["tracking-uri"], ["ui"]])
def test_help_on_every_subcommand(sub: list[str]) -> None:
    result = CliRunner().invoke(main, [*sub, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_validate_committed_params() -> None:
    result = CliRunner().invoke(main, ["validate", "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 0 and "72 runs" in result.output and "140 grid points" in result.output


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
