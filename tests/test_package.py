"""The library installs on its own: a wheel that builds, installs without the pipeline's extras into a clean venv
holding only its declared dependencies (torch, numpy; torchvision and pillow for the example), imports there, runs
the example, and its `gerne` command says how to get the pipeline."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.examples.test_own_loop import run_example
from tests.pipeline.test_own_dataset import write_png_dataset

pytestmark = pytest.mark.integration
LIBRARY = ("torch", "numpy")  # the wheel's dependencies
EXAMPLE = ("torchvision", "pillow")  # extra `examples`
PIPELINE_ONLY = ("pandas", "mlflow", "dvc", "click", "yaml", "pydantic", "ray", "transformers")


def _requires(dist: str) -> list[str]:
    """Distribution names ``dist`` needs (no extras, markers that hold here)."""
    out = []
    for req in md.requires(dist) or []:
        name, _, marker = req.partition(";")
        if "extra" in marker or (marker.strip() and not _holds(marker)):
            continue
        out.append(re.split(r"[\s<>=!~\[(]", name.strip(), maxsplit=1)[0])
    return out


def _holds(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker).evaluate()


def _closure(names: tuple[str, ...]) -> set[str]:
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower()
        if key not in seen:
            seen.add(key)
            todo.extend(_requires(key))
    return seen


def _thin_site(dists: set[str], where: Path) -> Path:
    """A folder of links to exactly these distributions' installed files (their top-level names)."""
    where.mkdir()
    for name in dists:
        for f in md.distribution(name).files or []:
            top = f.parts[0]
            src = Path(f.locate()).parents[len(f.parts) - 1] / top
            if not (where / top).exists() and src.exists() and top != "..":
                (where / top).symlink_to(src)
    return where


def test_wheel_installs_and_runs_in_a_clean_venv(tmp_path: Path) -> None:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("gerne-*.whl")
    version = wheel.name.split("-")[1]
    assert version == md.version("gerne")  # one version, gerne.__version__
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin/python")
    # run from tmp_path without PYTHONPATH: pip would take the repository's own gerne (cwd) for installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=env, cwd=tmp_path).stdout.strip()
    deps = _closure(LIBRARY + EXAMPLE)
    assert not deps & {"pandas", "mlflow", "dvc"}, deps
    (Path(site) / "deps.pth").write_text(str(_thin_site(deps, tmp_path / "deps")) + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   capture_output=True, env=env, cwd=tmp_path)
    seconds = time.perf_counter() - start
    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1024:.0f} KiB; built, venv and installed in {seconds:.1f} s")

    check = ("import importlib.util as u, gerne, gerne.loop; "
             f"print([m for m in {list(PIPELINE_ONLY)} if u.find_spec(m)]); print(gerne.__file__)")
    proc = subprocess.run([python, "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    missing, where = proc.stdout.splitlines()
    assert missing == "[]" and where.startswith(site)  # the installed library, with none of the pipeline's packages
    write_png_dataset(tmp_path / "mydata")
    assert 0 <= run_example(python, tmp_path / "mydata", "--steps", "10", env=env) <= 100
    cli = subprocess.run([str(env_dir / "bin/gerne"), "validate"], capture_output=True, text=True, env=env,
                         cwd=tmp_path)
    assert cli.returncode != 0 and "pip install 'gerne[pipeline]'" in cli.stderr
