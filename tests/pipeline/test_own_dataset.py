"""A researcher's own image dataset through `dvc repro`, as the README's worked example declares it: PNG files and
a metadata.csv written here, real DVC stages, a real MLflow store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from tests.pipeline.conftest import only_study, run

OWN = {"kind": "own", "root": "mydata", "prepare": {"transform": "resize_crop", "image_size": 8}, "model": "mlp",
       "model_options": {"hidden": [32]}, "steps": 20, "eval_every": 10, "optimizer": "sgd", "lr": 5.0e-2,
       "weight_decay": 0.0, "batch_size": 4, "c": 0.5, "eval_batch_size": 64, "precision": "fp32"}


def write_png_dataset(root: Path, n_train: int = 48, n_eval: int = 16) -> pd.DataFrame:
    """Two classes (a bright square top-left or bottom-right) on a background colour that is the bias attribute:
    in train, 7 of 8 images of each class have background y (the others 1 − y); val and test are balanced."""
    rng = np.random.default_rng(0)
    rows = []
    for split, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        for i in range(n):
            y = i % 2
            a = (y if i % 16 < 14 else 1 - y) if split == "train" else (i // 2) % 2
            img = np.full((12, 12, 3), (40, 40, 200) if a else (200, 40, 40), np.uint8)
            img += rng.integers(0, 30, img.shape, dtype=np.uint8)
            r = slice(1, 6) if y == 0 else slice(6, 11)
            img[r, r] = 255
            name = f"img/{split}_{i:03d}.png"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(root / name)
            rows.append({"id": f"{split}-{i}", "filename": name, "split": split, "y": y, "a": a})
    table = pd.DataFrame(rows)
    table.to_csv(root / "metadata.csv", index=False)
    return table


def _declare(root: Path, rows: list[str], attributes: bool = True) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["datasets"]["mine"] = {**OWN, "prepare": {**OWN["prepare"], "attributes": attributes}}
    params["studies"].update(seeds=[0, 1], device="cpu")
    params["studies"]["search"]["configs"] = 2
    params["studies"]["rows"]["erm"] = {"method": "erm", "groups": "none", "select": "val_wga"}  # plain ERM
    params["studies"]["rows"]["jtt"].update(select="val_wga", search={"up": [5.0, 20.0]})  # f̃'s error set
    only_study(params, "mine", {"datasets": ["mine"], "rows": rows})  # a copy without the committed results
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _summaries(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "runs").rglob("*.json"))}


def _store_runs(root: Path, experiment: str = "mine") -> list[str]:
    with sqlite3.connect(root / "mlflow.db") as db:
        return [r[0] for r in db.execute("select r.name from runs r join experiments e using (experiment_id) "
                                         "where e.name = ?", (experiment,))]


@pytest.mark.integration
def test_own_png_dataset_through_dvc_repro(project_copy: tuple[Path, dict[str, str]]) -> None:
    root, env = project_copy
    table = write_png_dataset(root / "mydata")
    _declare(root, ["yes_yes", "no_no", "erm", "jtt"])  # true groups, pseudo-attributes, plain ERM, JTT
    run(["gerne", "store-init"], root, env)
    run(["dvc", "repro", "report"], root, env)  # plain DVC: data, train, report

    assert not (root / "data/raw/mine").exists()  # read in place: nothing to fetch
    counts = json.loads((root / "data/mine/counts.json").read_text())
    assert sum(counts["splits"]["train"].values()) == (table.split == "train").sum()
    assert (root / "models/mine/biased.pt").is_file() and (root / "runs/mine/biased.json").is_file()  # no_no's f̃
    for row in ("yes_yes", "no_no", "erm", "jtt"):
        for seed in (0, 1):
            summary = json.loads((root / f"runs/mine/{row}/seed{seed}.json").read_text())
            assert [h["step"] for h in summary["history"]] == [10.0, 20.0]
            assert summary["config"]["protocol"]["model"] == "mlp"
            assert summary["method"] == {"erm": "erm", "jtt": "jtt"}.get(row, "gerne")
    erm = json.loads((root / "runs/mine/erm/seed0.json").read_text())
    assert "loss" in erm["history"][0] and "loss_ext" not in erm["history"][0]  # ERM's own loss
    assert "error_share" in summary["history"][0]  # JTT's, trained on f̃'s error set
    report = pd.read_csv(root / "reports/tables/mine.csv")
    best = report[report.selection == "best_val"]
    assert sorted(best.row) == ["erm", "jtt", "no_no", "yes_yes"] and (best.n == 2).all()
    assert best[["test_gba_mean", "test_wga_mean", "test_conflicting_acc_mean"]].stack().between(0, 100).all()
    text = (root / "reports/tables/mine.md").read_text()
    assert "| mine | yes_yes | best_val |" in text
    assert "- `jtt`: jtt on the reference model's error set" in text  # its rows, described from params.yaml
    # reference + rows × (configs + the other seed + the search's parent run) + the report
    assert len(_store_runs(root)) == 1 + 4 * (2 + 1 + 1) + 1
    status = json.loads(run(["dvc", "status", "--json", "--with-deps", "report"], root, env).stdout)
    assert status == {"data": ["always changed"]}  # up to date (the data stage checks its stamps on every run)
    _experiment_adds_a_row(root, env)
    _adds_a_method_from_one_file(root, env)

    # a variant (the same files at 6 px): the data stage prepares it alone, every folder it had stays as it was
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["datasets"]["mine_6px"] = {"variant_of": "mine", "prepare": {"image_size": 6}}
    params["studies"]["tables"]["mine_6px"] = {"datasets": ["mine_6px"], "rows": ["erm"]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    before = (root / "data/mine/images.npy").stat().st_mtime_ns
    out = run(["dvc", "repro", "data"], root, env)
    assert "data/mine is current" in out.stderr + out.stdout and "wrote data/mine_6px" in out.stderr + out.stdout
    assert (root / "data/mine/images.npy").stat().st_mtime_ns == before
    assert np.load(root / "data/mine_6px/images.npy", mmap_mode="r").shape[1:3] == (6, 6)
    assert json.loads((root / "data/mine_6px/counts.json").read_text()) == counts

    # data edited in place, outside DVC's view: the data stage's stamp sees it and prepares the folder again
    write_png_dataset(root / "mydata", n_train=40)
    out = run(["dvc", "repro", "data"], root, env)
    assert "wrote data/mine (mine: 40 / 16 / 16 samples" in out.stderr + out.stdout

    # data without attributes cannot run rows that need them: refused before anything is written
    _declare(root, ["yes_yes", "no_no"], attributes=False)
    trained = _summaries(root)
    proc = run(["dvc", "repro", "report"], root, env, check=False)
    assert proc.returncode != 0 and "need true attributes" in proc.stderr + proc.stdout
    assert _summaries(root) == trained


SMOOTHED = '''"""ERM with label smoothing: a method added from this one file (and its registry line)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch.nn.functional as F

from gerne.methods.base import Range
from gerne.methods.erm import Erm, ErmStep


class Smoothed(Erm):
    name: ClassVar[str] = "smoothed"
    options: ClassVar[dict[str, Range]] = {"eps": Range(lambda v: 0.0 <= v < 1.0, "in [0, 1)")}

    def __init__(self, batch_size: int, eps: float = 0.1) -> None:
        super().__init__(batch_size)
        self.eps = eps

    @classmethod
    def from_protocol(cls, protocol: Any, train: Any, cfg: dict[str, Any], pseudo: bool,
                      reference: Any = None) -> dict[str, Any]:
        return {**super().from_protocol(protocol, train, cfg, pseudo), "eps": float(cfg.get("eps", 0.1))}

    @classmethod
    def stacked(cls, methods: list[Smoothed]) -> SmoothedStep:
        return SmoothedStep(methods)


class SmoothedStep(ErmStep):
    def loss(self, stack: Any, x: Any, y: Any) -> Any:
        logits = stack.forward(x)
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none",
                             label_smoothing=self.methods[0].eps).view(y.shape).mean(1)
        return ce.sum(), ce.detach()[:, None]
'''


def _adds_a_method_from_one_file(root: Path, env: dict[str, str]) -> None:
    """A new method is one module, one registry line and params.yaml rows: plain `dvc repro` trains it. The train
    stage runs again (its code changed) and trains the new row only: every committed summary stays byte-identical."""
    env = {**env, "PYTHONPATH": str(root)}  # the stages import this copy, as a user's editable install
    (root / "gerne/methods/smoothed.py").write_text(SMOOTHED)
    with (root / "gerne/methods/__init__.py").open("a") as registry:
        registry.write("\nfrom gerne.methods.smoothed import Smoothed  # noqa: E402\n\n"
                       "METHODS[Smoothed.name] = Smoothed\n")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["studies"]["rows"]["smooth"] = {"method": "smoothed", "groups": "none", "select": "val_wga",
                                           "search": "none", "config": {"eps": 0.2}}
    params["studies"]["tables"]["mine"]["rows"].append("smooth")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    touched = run(["git", "status", "--porcelain"], root, env).stdout.split("\n")
    assert sorted(t for t in touched if t) == [" M gerne/methods/__init__.py", " M params.yaml",
                                               "?? gerne/methods/smoothed.py", "?? mydata/"]
    bad = {**params["studies"]["rows"]["smooth"], "config": {"eps": 1.5}}  # its declared range is checked
    (root / "bad.yaml").write_text(yaml.safe_dump({**params, "studies": {**params["studies"], "rows": {
        **params["studies"]["rows"], "smooth": bad}}}, sort_keys=False))
    proc = run(["gerne", "validate", "--params", "bad.yaml"], root, env, check=False)
    assert proc.returncode == 1 and "eps = 1.5 must be in [0, 1)" in proc.stderr, proc.stderr
    (root / "bad.yaml").unlink()
    stale = json.loads(run(["dvc", "status", "--json", "--with-deps", "report"], root, env).stdout)
    assert sorted(stale) == ["data", "report", "train"], stale
    committed, runs_before = _summaries(root), len(_store_runs(root))
    run(["dvc", "repro", "report"], root, env)
    assert {k: v for k, v in _summaries(root).items() if "/smooth/" not in k} == committed  # nothing retrained
    assert len(_store_runs(root)) == runs_before + 2 + 1  # the new row's two seeds, and the report
    for seed in (0, 1):
        summary = json.loads((root / f"runs/mine/smooth/seed{seed}.json").read_text())
        assert summary["method"] == "smoothed" and summary["config"]["search_config"]["eps"] == 0.2
        assert summary["config"]["training"]["eps"] == 0.2  # fingerprinted: another eps never reuses this run
        assert [h["step"] for h in summary["history"]] == [10.0, 20.0] and "loss" in summary["history"][0]
    assert "| mine | smooth | best_val |" in (root / "reports/tables/mine.md").read_text()
    run(["git", "checkout", "--", "gerne/methods/__init__.py", "params.yaml"], root, env)  # back to the design
    (root / "gerne/methods/smoothed.py").unlink()  # the rest of the test runs the installed code


def _experiment_adds_a_row(root: Path, env: dict[str, str]) -> None:
    """Plain `dvc exp run --temp -S` with an override that adds a row to the study runs in a temporary copy; the
    workspace's params, runs, report and dvc.lock stay as they are, and MLflow files its runs as trials."""
    run(["git", "add", "-A"], root, env)  # what a user commits before trying things; the data folder stays untracked
    run(["git", "rm", "-r", "-q", "--cached", "mydata"], root, env)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "mine"], root, env)
    kept = {p: (root / p).read_bytes() for p in ("params.yaml", "reports/tables/mine.md", "dvc.lock")}
    bad = run(["dvc", "exp", "run", "--temp", "-S", "studies.tables.mine.rows=[yes_yes,no_yse]", "-C", "mydata",
               "report"], root, env, check=False)
    assert bad.returncode != 0 and "did you mean 'no_yes'" in bad.stdout + bad.stderr  # the first stage refuses it
    run(["dvc", "exp", "run", "--temp", "-n", "with-no-yes", "-S",  # -C: the untracked data folder goes with it
         "studies.tables.mine.rows=[yes_yes,no_no,erm,no_yes]", "-C", "mydata", "report"], root, env)
    assert {p: (root / p).read_bytes() for p in kept} == kept and not (root / "runs/mine/no_yes").exists()
    assert run(["git", "status", "--porcelain"], root, env).stdout == "?? mydata/\n"
    assert "with-no-yes" in run(["dvc", "exp", "list", "--name-only"], root, env).stdout.split()
    assert any("no_yes" in n for n in _store_runs(root, "mine (trials)"))  # the trial's runs, the new row's among them
