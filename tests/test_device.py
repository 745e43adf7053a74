"""Device names: the schema check (studies.device) and resolve_device (auto, absent GPUs refused with the fix)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from gerne.device import ALLOWED, check_device_name, resolve_device
from gerne.errors import ConfigError
from pipeline.cli import main
from pipeline.config import parse_params
from tests.conftest import REPO

RAW = yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_allowed_names(name: str) -> None:
    assert check_device_name(name) == name


@pytest.mark.parametrize("name", ["gpu", "GPU", "cuda:", "CUDA", "cuda:x", "tpu", ""])
def test_other_names_are_refused_with_the_allowed_list(name: str) -> None:
    with pytest.raises(ValueError, match="is not one of auto, cpu, cuda, cuda:<n>, mps"):
        check_device_name(name)


def test_schema_refuses_gpu_naming_the_key_and_the_allowed_list() -> None:
    data = copy.deepcopy(RAW)
    data["studies"]["device"] = "gpu"
    with pytest.raises(ConfigError) as info:
        parse_params(data, "params.yaml")
    msg = str(info.value)
    assert "studies.device" in msg and "'gpu'" in msg and ", ".join(ALLOWED) in msg and "'cuda'" in msg


def test_auto_is_cuda_if_available_else_cpu(monkeypatch: pytest.MonkeyPatch, no_gpu: None) -> None:
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")


def test_cuda_without_gpu_names_key_and_fix(no_gpu: None) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_device("cuda")
    assert str(info.value) == ("device is 'cuda' but no CUDA GPU is visible here (torch.cuda.is_available() "
                               "is False); set device: auto or cpu")
    with pytest.raises(ConfigError, match=r"studies\.device is 'cuda:0' .*set studies\.device: auto or cpu"):
        resolve_device("cuda:0", "studies.device")


def test_cuda_index_beyond_visible_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"'cuda:3' but only 1 CUDA GPU\(s\) are visible"):
        resolve_device("cuda:3")


def test_mps_unavailable(no_gpu: None) -> None:
    with pytest.raises(ConfigError, match=r"studies\.device is 'mps' .*set studies\.device: auto or cpu"):
        resolve_device("mps", "studies.device")


def test_unknown_name_at_resolve_time_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"--device: device 'gpu' is not one of"):
        resolve_device("gpu", "--device")


def test_validate_refuses_cuda_without_gpu(tmp_path: Path, no_gpu: None) -> None:
    data = copy.deepcopy(RAW)
    data["studies"]["device"] = "cuda"
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", "--params", str(params), "--data-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "studies.device is 'cuda' but no CUDA GPU is visible here" in result.output
    assert "set studies.device: auto or cpu" in result.output


def test_validate_refuses_a_studies_device_name(tmp_path: Path) -> None:
    data = copy.deepcopy(RAW)
    data["studies"]["device"] = "gpu"
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["validate", "--params", str(params), "--data-root", str(tmp_path)])
    assert result.exit_code == 1 and "studies.device: device 'gpu' is not one of" in result.output


def test_same_devices_as_the_runs_today(no_gpu: None) -> None:
    from pipeline.runs.common import resolve_device as runs_resolve_device

    for name in ("auto", "cpu"):
        assert resolve_device(name) == runs_resolve_device(name)
