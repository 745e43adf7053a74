"""The library's import graph: `gerne` never imports the harness (`pipeline`, `benchmarks`, `tests`), and its
packages import each other without cycles (imports only for type checking excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

HARNESS = ("pipeline", "benchmarks", "tests")


def _imports(path: Path) -> set[str]:
    """Modules ``path`` imports anywhere (lazy imports in functions too), except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: strip level - 1 packages from this module's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
    return found


def _unit(module: str) -> str | None:
    """The package a module belongs to for the cycle check: ``gerne.<sub>`` (a file directly in gerne/ is its own)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gerne" and len(parts) > 1 else None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in (REPO / "gerne").rglob("*.py"):
        unit = _unit(".".join(path.relative_to(REPO).with_suffix("").parts))
        if unit is None:
            continue
        targets = {_unit(m) for m in _imports(path)} - {None, unit}
        graph.setdefault(unit, set()).update(t for t in targets if t)
    return graph


def test_library_never_imports_the_harness() -> None:
    offenders = sorted(f"{p.relative_to(REPO)} imports {m}" for p in (REPO / "gerne").rglob("*.py")
                       for m in _imports(p) if m.split(".")[0] in HARNESS)
    assert offenders == []


def test_no_import_cycles_between_library_packages() -> None:
    graph = _graph()
    cycles = []

    def visit(node: str, stack: list[str], done: set[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in done:
                visit(nxt, [*stack, nxt], done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], done)
    assert sorted(set(cycles)) == []


def test_foundations_never_import_training_or_methods() -> None:
    """Core equations, data, models and metrics stand alone: they never import the loop or a method."""
    low = [p for sub in ("core", "data", "models") for p in (REPO / "gerne" / sub).rglob("*.py")]
    low.append(REPO / "gerne" / "metrics.py")
    offenders = sorted(f"{p.relative_to(REPO)} imports {m}" for p in low for m in _imports(p)
                       if m.startswith(("gerne.train", "gerne.methods")))
    assert offenders == []


def test_training_loop_knows_no_concrete_method() -> None:
    """The loop asks the method for its step: ``gerne.train`` imports only the method protocol."""
    offenders = sorted(f"{p.relative_to(REPO)} imports {m}" for p in (REPO / "gerne" / "train").rglob("*.py")
                       for m in _imports(p) if m.startswith("gerne.methods") and m != "gerne.methods.base")
    assert offenders == []


def test_the_harness_lives_outside_the_library() -> None:
    """Params schema, run orchestration, sweeps, reports and the speed benchmark are not library packages."""
    moved = ("config.py", "cli.py", "runs", "subpop", "report", "bench")
    assert [m for m in moved if (REPO / "gerne" / m).exists()] == []
