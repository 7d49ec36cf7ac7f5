"""benchmarks/gpu_check.py, the CUDA-vs-CPU check of the GPU methods, on this CPU-only
machine: it refuses to compare without CUDA and its CPU half runs (the CUDA half runs
where a GPU is lent; see README)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from helpers.workflow import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the full check applies")
def test_without_cuda_it_says_so_and_exits_2():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--cells", "300"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2 and "no CUDA device" in done.stderr


def test_cpu_half_runs_claire_and_scores_it():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--cells", "600", "--genes", "200", "--device", "cpu",
         "--methods", "claire"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("claire "))
    assert " cpu " in line and " ok " in line and "cells/s" in line and "kbet" in line
