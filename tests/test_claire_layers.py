"""The method core (claire/*.py) stands on its own: it imports nothing from claire.bench."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.imports import imported_names

CORE = sorted((Path(__file__).resolve().parents[1] / "claire").glob("*.py"))


def test_core_modules_are_found():
    assert {"train.py", "params.py", "pairs.py", "api.py", "__main__.py"} <= {p.name for p in CORE}


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_nothing_from_bench(path):
    bench = sorted(m for m in imported_names(path) if m.startswith("claire.bench"))
    assert not bench, f"{path.name} imports {bench}"


def test_the_check_sees_a_bench_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from claire.bench import io\n")
    assert "claire.bench.io" in imported_names(module)
