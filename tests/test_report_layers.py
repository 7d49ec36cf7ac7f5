"""Tables and figures stay light: they never reach the metrics stack or the method adapters.

Walks the claire modules that claire.bench.tables.* and claire.bench.plots.* import, down
to the bottom (including function-level imports), so the report env needs no numba, igraph,
louvain or scib-metrics; the tables do not import the figures.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("claire.bench.metrics", "claire.bench.methods")


def module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def claire_imports(path: Path) -> set[str]:
    """claire modules (and the packages on their way) imported anywhere in ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        for name in found:
            parts = name.split(".")
            if parts[0] == "claire":
                names |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {n for n in names if module_file(n) is not None}


def closure(module: str) -> set[str]:
    """Every claire module reached from ``module``, itself included."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += sorted(claire_imports(module_file(name)) - seen)
    return seen


def package_modules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(
        package if p.name == "__init__.py" else f"{package}.{p.stem}" for p in folder.glob("*.py")
    )


REPORT_MODULES = package_modules("claire.bench.tables") + package_modules("claire.bench.plots")


def test_report_packages_are_found():
    assert {"claire.bench.tables.scores", "claire.bench.tables.render"} <= set(REPORT_MODULES)
    assert {"claire.bench.tables.collect", "claire.bench.plots.scores"} <= set(REPORT_MODULES)


@pytest.mark.parametrize("module", REPORT_MODULES)
def test_report_module_never_reaches_metrics_or_methods(module):
    reached = closure(module)
    bad = sorted(m for m in reached if m.startswith(FORBIDDEN))
    assert not bad, f"{module} reaches {bad}"
    if module.startswith("claire.bench.tables"):
        assert not [m for m in reached if m.startswith("claire.bench.plots")], module


def test_the_walk_sees_an_indirect_import():
    """plots.scores reaches the contract only through tables.scores."""
    assert "claire.bench.contract" not in claire_imports(module_file("claire.bench.plots.scores"))
    assert "claire.bench.contract" in closure("claire.bench.plots.scores")
