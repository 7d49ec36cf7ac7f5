"""Tables and figures stay light: they never reach the metrics stack or the method adapters.

Walks the claire modules that claire.bench.tables.* and claire.bench.plots.* import, down
to the bottom (including function-level imports), so the report env needs no numba, igraph,
louvain or scib-metrics; the tables do not import the figures.
"""

from __future__ import annotations

import pytest
from helpers.imports import claire_modules, module_file
from helpers.workflow import ROOT

FORBIDDEN = ("claire.bench.metrics", "claire.bench.methods")


def closure(module: str) -> set[str]:
    """Every claire module reached from ``module``, itself included."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += sorted(claire_modules(module_file(name)) - seen)
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
    assert "claire.bench.contract" not in claire_modules(module_file("claire.bench.plots.scores"))
    assert "claire.bench.contract" in closure("claire.bench.plots.scores")
