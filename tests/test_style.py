"""The code base stays lint-clean: ruff, ruff format, snakefmt and snakemake --lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers.workflow import ROOT

BIN = Path(sys.executable).parent
PY_PATHS = ["claire", "workflow", "tests", "benchmarks"]


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "cmd",
    [
        [str(BIN / "ruff"), "check", *PY_PATHS],
        [str(BIN / "ruff"), "format", "--check", *PY_PATHS],
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
    ],
    ids=["ruff", "ruff-format", "snakefmt"],
)
def test_linters_clean(cmd):
    paths = [p for p in cmd if p in PY_PATHS]
    if paths and not all((ROOT / p).exists() for p in paths):
        cmd = [c for c in cmd if c not in PY_PATHS or (ROOT / c).exists()]
    proc = run(cmd)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_snakemake_lint_clean():
    proc = run([sys.executable, "-m", "snakemake", "--lint"])
    out = proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in out, out[-4000:]
