"""The import layers of the package (ARCHITECTURE.md): edges that must never exist.

* the method core (claire/*.py) imports nothing from claire.bench;
* metrics never import methods; methods never import metrics;
* tables and plots read result files through the contract, never through methods or
  metrics, and tables never import plots;
* registry and contract stay at the bottom (no claire.bench import but each other);
* the experiments (sensitivity grid, scaling datasets) read the registry only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.imports import imported_names
from helpers.workflow import ROOT

PACKAGE = ROOT / "claire"


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of every claire module imported by ``path`` (any nesting level)."""
    return {n for n in imported_names(path, root) if n == "claire" or n.startswith("claire.")}


def modules_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


FORBIDDEN = [
    # (files, forbidden import prefixes)
    (sorted(PACKAGE.glob("*.py")), ("claire.bench",)),
    (modules_under(PACKAGE / "bench" / "metrics"), ("claire.bench.methods",)),
    (modules_under(PACKAGE / "bench" / "methods"), ("claire.bench.metrics",)),
    (
        modules_under(PACKAGE / "bench" / "tables"),
        ("claire.bench.plots", "claire.bench.methods", "claire.bench.metrics"),
    ),
    (modules_under(PACKAGE / "bench" / "plots"), ("claire.bench.methods", "claire.bench.metrics")),
    (
        [*modules_under(PACKAGE / "bench" / "registry"), PACKAGE / "bench" / "contract.py"],
        (
            "claire.bench.methods",
            "claire.bench.metrics",
            "claire.bench.plots",
            "claire.bench.tables",
            "claire.bench.experiments",
            "claire.api",
        ),
    ),
    (
        modules_under(PACKAGE / "bench" / "experiments"),
        (
            "claire.bench.methods",
            "claire.bench.metrics",
            "claire.bench.plots",
            "claire.bench.tables",
            "claire.api",
        ),
    ),
]


@pytest.mark.parametrize(
    ("files", "forbidden"), FORBIDDEN, ids=lambda v: v[0] if isinstance(v, str) else None
)
def test_no_import_crosses_a_layer(files, forbidden):
    problems = []
    for path in files:
        for name in imported_modules(path):
            if name.startswith(forbidden):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_the_scan_sees_relative_and_nested_imports(tmp_path):
    folder = tmp_path / "claire" / "bench" / "metrics"
    folder.mkdir(parents=True)
    probe = folder / "probe.py"
    probe.write_text("def f():\n    from ..methods import base\n    import claire.api\n")
    names = imported_modules(probe, root=tmp_path)
    assert {"claire.bench.methods", "claire.bench.methods.base", "claire.api"} <= names
