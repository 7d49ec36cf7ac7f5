"""Interrupted runs resume with one command for any config (``make run CONFIG=...``, i.e.
``python -m claire.bench.resume --cores N --configfile ...``: release a stale lock, then
``snakemake --rerun-incomplete``): a training job killed with SIGKILL, and Snakemake
itself killed mid-run, both started with --configfile. The rerun finishes, no partial
file is taken for a result, and the tables equal those of an uninterrupted run with the
same seeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml
from helpers.workflow import ROOT, integration_path, run_snakemake, tiny_dataset

from claire.bench.resume import command

pytestmark = pytest.mark.slow

CLAIRE = {
    "preset": "paper",  # exactly 30 epochs (no floor on optimiser steps)
    "epochs": 30,
    "refine_epoch": 2,
    "batch_size": 64,
    "snapshot_epochs": [0, 30],
}
CONFIG = {
    "seed": 4,
    "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
    "report": {"umap_max_cells": 150},
    "datasets": {"tiny": tiny_dataset(n_cells=500, n_genes=300, seed=2)},
    "methods": ["pca", "claire"],
    "method_params": {"pca": {"n_comps": 10}, "claire": CLAIRE},
}
TABLES = ("raw_metrics.csv", "scores.csv", "summary.csv", "training_curves.csv")
TARGETS = tuple(f"results/tables/{t}" for t in TABLES)
CLAIRE_RESULT = integration_path("tiny", "claire")
CLAIRE_LOG = integration_path("tiny", "claire", kind="log")


def makefile_run_recipe(*variables: str) -> list[str]:
    """The commands of `make run` (the documented command), as make would run them."""
    done = subprocess.run(
        ["make", "-n", "--always-make", "run", *variables], cwd=ROOT, capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.strip() for line in done.stdout.splitlines() if "claire.bench.resume" in line]


def test_make_run_resumes_any_config_with_one_command():
    assert makefile_run_recipe() == [".venv/bin/python -m claire.bench.resume --cores all"]
    assert makefile_run_recipe("CONFIG=my.yaml", "CORES=2") == [
        ".venv/bin/python -m claire.bench.resume --cores 2 --configfile my.yaml"
    ]
    assert command(["--cores", "2"])[-3:] == ["--rerun-incomplete", "--cores", "2"]


def resume(workdir: Path) -> subprocess.CompletedProcess:
    """The one command of `make run CONFIG=...` (python -m claire.bench.resume), pointed at
    ``workdir`` with the run's --configfile: release a stale lock, rerun incomplete jobs."""
    cmd = [
        sys.executable, "-m", "claire.bench.resume", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
        "--cores", "2", *TARGETS,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=workdir)


def start(workdir: Path) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
        "--cores", "2", *TARGETS,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def wait_for_training(workdir: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Return once CLAIRE's job logs its 5th epoch (training under way)."""
    deadline = time.monotonic() + timeout
    log = workdir / CLAIRE_LOG
    while time.monotonic() < deadline:
        if log.exists() and "epoch 5/" in log.read_text():
            return
        assert proc.poll() is None, "the run ended before CLAIRE trained"
        time.sleep(0.2)
    raise AssertionError("CLAIRE never started training")


def training_job(proc: subprocess.Popen) -> psutil.Process:
    for child in psutil.Process(proc.pid).children(recursive=True):
        if any("integrate" in part for part in child.cmdline()):
            return child
    raise AssertionError("no integrate job among Snakemake's children")


def tables(workdir: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in TABLES:
        table = pd.read_csv(workdir / "results" / "tables" / name)
        out[name] = table.drop(columns=[c for c in table.columns if c == "seconds"])
    return out


def assert_same_tables(a: Path, b: Path) -> None:
    for name, table in tables(a).items():
        pd.testing.assert_frame_equal(table, tables(b)[name], check_exact=False, rtol=1e-6)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("uninterrupted")
    done = run_snakemake(workdir, CONFIG, TARGETS)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


def test_a_training_job_killed_with_sigkill_is_rerun(tmp_path, reference):
    proc = start(tmp_path)
    try:
        wait_for_training(tmp_path, proc)
        training_job(proc).send_signal(signal.SIGKILL)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0  # the job failed, so did the run
    assert not (tmp_path / CLAIRE_RESULT).exists()  # no partial result in place
    done = resume(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_tables(tmp_path, reference)


def test_snakemake_killed_mid_run_resumes(tmp_path, reference):
    proc = start(tmp_path)
    try:
        wait_for_training(tmp_path, proc)
        os.kill(proc.pid, signal.SIGKILL)  # Snakemake only; its job is orphaned
        proc.wait(timeout=60)
        # a killed Snakemake leaves its lock; its orphaned job dies too (as on a reboot)
        assert list((tmp_path / ".snakemake" / "locks").glob("*.lock"))
        for orphan in psutil.process_iter(["cmdline"]):
            if any(str(tmp_path) in part for part in orphan.info["cmdline"] or []):
                orphan.kill()
        done = resume(tmp_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "removed a stale Snakemake lock" in done.stderr
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_tables(tmp_path, reference)
