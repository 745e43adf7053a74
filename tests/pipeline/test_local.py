"""Machine-local settings (pipeline/local.py): where this machine keeps the releases, outside params.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from gerne.errors import ConfigError
from pipeline.local import mirror_env, mirror_for


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("GERNE_LOCAL", mirror_env("celeba"), mirror_env("my_data")):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_none_set_means_download(here: Path) -> None:
    assert mirror_for("celeba") == (None, "")


def test_the_environment_wins_over_local_yaml(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (here / "local.yaml").write_text("mirrors:\n  celeba: /from/file\n  my_data: ~/copies/mine\n")
    assert mirror_for("celeba") == (Path("/from/file"), "local.yaml: mirrors.celeba")
    assert mirror_for("my_data")[0] == Path("~/copies/mine").expanduser()
    monkeypatch.setenv("GERNE_MIRROR_CELEBA", "/from/env")
    assert mirror_for("celeba") == (Path("/from/env"), "$GERNE_MIRROR_CELEBA")
    assert mirror_env("my-data.v2") == "GERNE_MIRROR_MY_DATA_V2"


def test_another_settings_file(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (here / "elsewhere.yaml").write_text("mirrors: {celeba: /x}\n")
    monkeypatch.setenv("GERNE_LOCAL", str(here / "elsewhere.yaml"))
    assert mirror_for("celeba")[0] == Path("/x")


@pytest.mark.parametrize(("text", "message"), [
    ("mirrors: [a, b]\n", "maps a dataset name to a directory"),
    ("mirrors: {celeba: ''}\n", "maps a dataset name to a directory"),
    ("mirors: {celeba: /x}\n", "take only \\['mirrors'\\]"),
    ("mirrors: {celeba: [\n", "not valid YAML"),
])
def test_a_malformed_file_is_named_with_the_fix(here: Path, text: str, message: str) -> None:
    (here / "local.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        mirror_for("celeba")
