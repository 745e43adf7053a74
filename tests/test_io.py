"""Atomic and staged outputs: a failure never destroys the previous result; deterministic archives."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gerne.io import atomic_paths, partial_dir, staged_dir, write_npz


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_staged_dir_swaps_in_the_new_result_and_drops_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    out.mkdir()
    (out / "seed0.json").write_text("old 0")
    (out / "seed2.json").write_text("old 2")  # a seed the new design no longer has
    with staged_dir(out) as work:
        assert work == partial_dir(out) and work.name == ".runs.partial"
        assert _tree(out) == {"seed0.json": "old 0", "seed2.json": "old 2"}  # untouched while the stage runs
        (work / "seed0.json").write_text("new 0")
        (work / "seed1.json").write_text("new 1")
    assert _tree(out) == {"seed0.json": "new 0", "seed1.json": "new 1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_staged_dir_keep_files_carries_over_records_the_new_build_did_not_write(tmp_path: Path) -> None:
    """A sweep rebuilt by newer code keeps its committed legacy record (grid.json) and its rewritten files' new
    contents; a point folder the new grid no longer has goes, as without keep_files."""
    out = tmp_path / "sweep"
    (out / "p_old").mkdir(parents=True)
    (out / "p_old" / "seed0.json").write_text("stale point")
    (out / "grid.json").write_text("legacy")
    (out / "selected.json").write_text("old choice")
    with staged_dir(out, keep_files=True) as work:
        (work / "p_new").mkdir()
        (work / "p_new" / "seed0.json").write_text("new point")
        (work / "selected.json").write_text("new choice")
    assert _tree(out) == {"grid.json": "legacy", "selected.json": "new choice", "p_new/seed0.json": "new point"}


def test_staged_dir_keeps_the_previous_result_on_failure_and_kill(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    out.mkdir()
    (out / "seed0.json").write_text("committed")
    for exc in (RuntimeError("training failed"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), staged_dir(out) as work:
            (work / "seed0.json").write_text("half")
            raise exc
        assert _tree(out) == {"seed0.json": "committed"}
    assert (partial_dir(out) / "seed0.json").read_text() == "half"  # for resume=True; never mistaken for a result
    with staged_dir(out, resume=True) as work:
        assert (work / "seed0.json").read_text() == "half"
    with staged_dir(tmp_path / "other") as work:  # resume=False starts clean
        assert list(work.iterdir()) == []


def test_staged_dir_without_keep_partial_leaves_only_the_previous_result(tmp_path: Path) -> None:
    """A build nothing resumes (a prepared dataset) discards its partial copy on failure; a swap killed between its
    two renames gets the previous result back before the next build."""
    out = tmp_path / "data"
    out.mkdir()
    (out / "images.npy").write_text("previous")
    with pytest.raises(RuntimeError), staged_dir(out, keep_partial=False) as work:
        (work / "images.npy").write_text("half")
        raise RuntimeError("bad table")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"] and _tree(out) == {"images.npy": "previous"}
    out.rename(tmp_path / ".data.old")  # killed after moving the previous result aside, before the new one moved in
    with pytest.raises(RuntimeError), staged_dir(out, keep_partial=False):
        raise RuntimeError("refused again")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"] and _tree(out) == {"images.npy": "previous"}


def test_atomic_paths_replace_all_files_together_or_none(tmp_path: Path) -> None:
    a, b = tmp_path / "m" / "model.pt", tmp_path / "s" / "summary.json"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text("old")
    with pytest.raises(RuntimeError), atomic_paths(a, b) as (ta, tb):
        ta.write_text("new")
        raise RuntimeError("summary failed")
    assert a.read_text() == b.read_text() == "old"
    with atomic_paths(a, b) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in a.parent.iterdir()) == ["model.pt"]


def test_write_npz_is_byte_deterministic_and_loads_with_numpy(tmp_path: Path) -> None:
    arrays = {"confidence": np.linspace(0, 1, 1000, dtype=np.float32), "t=0.005": np.arange(1000) % 2}
    write_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # zip timestamps have a 2 s resolution: np.savez_compressed would now write other bytes
    write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as z:
        assert sorted(z.files) == ["confidence", "t=0.005"]
        np.testing.assert_array_equal(z["t=0.005"], arrays["t=0.005"])
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile(tmp_path / "a.npz").infolist())


def test_reuse_finished(tmp_path: Path) -> None:
    from gerne.io import reuse_finished

    work, previous = tmp_path / "work", tmp_path / "prev"
    (previous / "p1").mkdir(parents=True)
    (previous / "p1" / "seed0.json").write_text("done")
    (work / "p2").mkdir(parents=True)
    (work / "p2" / "half").write_text("partial")

    def done(unit: Path) -> bool:
        return (unit / "seed0.json").is_file()

    assert reuse_finished(work, previous, "p1", done) and (work / "p1" / "seed0.json").read_text() == "done"
    assert not reuse_finished(work, previous, "p2", done) and not (work / "p2").exists()  # leftover cleared
    assert not reuse_finished(work, None, "p3", done)
