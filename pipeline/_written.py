"""The one line a stage prints on success: what it wrote, and the numbers worth a glance (stderr, so that stdout
stays clean for pipes)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click


def wrote(paths: Iterable[str | Path], detail: str = "") -> None:
    """Print ``wrote <paths> (<detail>)`` to stderr."""
    click.echo(f"wrote {files(paths)}" + (f" ({detail})" if detail else ""), err=True)


def files(paths: Iterable[str | Path]) -> str:
    """``a``, ``a and b``, or a run of summaries as ``dir/seed0.json … seed2.json``."""
    paths = [str(p) for p in paths]
    if len(paths) <= 2:
        return " and ".join(paths) or "nothing"
    first, last = Path(paths[0]), Path(paths[-1])
    if first.parent == last.parent:
        return f"{paths[0]} … {last.name}"
    return f"{paths[0]} … {paths[-1]}"


def split_sizes(counts: Mapping[str, Mapping[str, int]]) -> str:
    """``55,000 / 5,000 / 10,000 images`` (train / val / test) from ``{split: {"y,a": n}}``."""
    sizes = [f"{sum(counts[s].values()):,}" for s in ("train", "val", "test") if s in counts]
    return " / ".join(sizes)


HEADLINE = ("test_gba", "test_wga")  # what every summary line shows: group-balanced and worst-group accuracy


def run_stats(summaries: list[Mapping[str, Any]], metric: str = "test_gba", rule: str = "best_val") -> str:
    """``3 runs, best_val: test GBA 62.1 ± 1.0, test WGA 40.3 ± 2.2`` (%, mean ± sample std over the runs): GBA and
    WGA, and ``metric`` (the dataset's oracle metric) when it is another one."""
    n = len(summaries)
    parts = []
    for name in dict.fromkeys([*HEADLINE, metric]):
        values = [100.0 * float(s["selections"][rule]["metrics"][name]) for s in summaries
                  if rule in s.get("selections", {}) and name in s["selections"][rule].get("metrics", {})]
        if values:
            spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
            parts.append(f"{_label(name)} {statistics.mean(values):.1f}{spread}")
    head = f"{n} run" + ("s" if n != 1 else "")
    return f"{head}, {rule}: {', '.join(parts)}" if parts else head


def selected(summary: Mapping[str, Any], metric: str, rule: str = "best_val") -> str:
    """``val CBA 97.3 (best_val, epoch 40)``: ``metric`` (%) of the checkpoint that ``rule`` kept."""
    chosen = summary.get("selections", {}).get(rule)
    if not chosen or metric not in chosen.get("metrics", {}):
        return f"no {rule} checkpoint"
    return f"{_label(metric)} {100.0 * float(chosen['metrics'][metric]):.1f} ({rule}, epoch {chosen['epoch']})"


def _label(metric: str) -> str:
    """``test_gba`` → ``test GBA``."""
    split, _, name = metric.partition("_")
    return f"{split} {name.upper() if len(name) <= 3 else name}"


def read_summaries(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The run summaries at ``paths`` that exist (for the line only; a missing one is simply not counted)."""
    out = []
    for path in map(Path, paths):
        if path.is_file():
            out.append(json.loads(path.read_text()))
    return out


def log_to_mlflow(name: str, paths: Iterable[str | Path], benchmark: str = "cmnist") -> None:
    """Log a report stage's files (tables, figures) as one MLflow run, so the UI holds them beside the runs."""
    from gerne.tracking import Tracker

    Tracker(benchmark).log_files(name, list(paths), tags={"dataset": benchmark})
