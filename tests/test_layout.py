"""The one module that names the project's paths names the files the committed results lie in."""

from __future__ import annotations

from pathlib import Path

from gerne import layout
from tests.conftest import REPO


def test_the_layout_names_the_committed_files() -> None:
    folder = "cmnist/r0.5"  # Table 1's C-MNIST at 0.5 % (params.yaml: datasets.cmnist.dir)
    for path in (layout.quality_file(folder), layout.scores_file(folder), layout.checkpoint(folder),
                 layout.reference_summary(folder), layout.selected(layout.sweep_dir(folder, "gerne_tuned_known")),
                 *(layout.summary(layout.row_dir(folder, "gerne_known"), seed) for seed in (0, 1, 2))):
        assert (REPO / path).is_file(), path
    for path in (*(v + (".md" if k in ("out", "full") else "") for k, v in layout.TABLE1.items()),
                 layout.study_table("attribution", "csv"), layout.figure(2, "cmnist"), layout.figure(3, "cmnist")):
        assert (REPO / path).is_file(), path
    assert layout.summaries(REPO / layout.row_dir(folder, "erm")) == [
        REPO / layout.row_dir(folder, "erm") / f"seed{s}.json" for s in (0, 1, 2)]


def test_paths_follow_the_dataset_folder_and_the_roots_given() -> None:
    assert layout.data_dir("mine") == "data/mine" and layout.raw_dir("cmnist") == "data/raw/cmnist"
    assert layout.scores_file("a/b") == "models/a/b/pseudo.npz" and layout.counts_file("a") == "data/a/counts.json"
    assert layout.sweep_dir("a/b", "jtt", Path("/tmp/runs")) == Path("/tmp/runs/sweeps/a/b/jtt")
    assert layout.quality_file("a", "m") == Path("m/a/pseudo.json")
    assert layout.fold_summary("valonly/cv", 2, 1) == Path("valonly/cv/fold2-seed1.json")
