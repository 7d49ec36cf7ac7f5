"""Shared fixtures: repository paths, the real test data, and a Snakemake runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anndata as ad
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CELLBENCH = SHARED_DATA / "cellbench_5cl_3plates.h5ad"
KANG = SHARED_DATA / "kang_pbmc_4samples.h5ad"


def _real(path: Path) -> ad.AnnData:
    if not path.exists():
        pytest.skip(f"real test data {path} not found (see ../shared/data/README.md)")
    return ad.read_h5ad(path)


@pytest.fixture(scope="session")
def cellbench_raw() -> ad.AnnData:
    """CellBench: 909 cells, 3 plates (obs batch), 5 cell lines (obs celltype), raw counts."""
    return _real(CELLBENCH)


@pytest.fixture(scope="session")
def kang_raw() -> ad.AnnData:
    """Kang PBMC: 1556 cells, 4 samples (obs sample_id), 5 types (obs cluster_id), raw counts."""
    return _real(KANG)


def tiny_dataset(n_cells: int = 400, n_genes: int = 400, seed: int = 1, **extra) -> dict:
    """Config entry of a small simulated dataset."""
    source = {"type": "simulated", "n_cells": n_cells, "n_genes": n_genes, "seed": seed, **extra}
    return {"source": source, "batch_key": "batch", "label_key": "cell_type", "n_hvg": 300}


# A registry entry (config/methods.yaml format) of the PCA baseline, for tests that
# register variants of it; the built-in `pca` entry is used as it is otherwise.
PCA_METHOD = {
    "runner": "python",
    "module": "claire.bench.methods.pca",
    "label": "PCA",
    "family": "baseline",
}
PCA_PARAMS = {"pca": {"n_comps": 20}}


def integration_path(dataset: str, method: str, repeat: int = 0, kind: str = "integration") -> str:
    """Relative path of a run's file: kind integration (.h5ad), metrics (.json), curve
    (.curve.csv), benchmark (.tsv), log (.log)."""
    folder, suffix = {
        "integration": ("integration", ".h5ad"),
        "metrics": ("metrics", ".json"),
        "curve": ("metrics", ".curve.csv"),
        "benchmark": ("benchmarks/integrate", ".tsv"),
        "log": ("logs/integrate", ".log"),
    }[kind]
    return f"results/{folder}/{dataset}/{method}/rep{repeat}{suffix}"


def run_snakemake(
    workdir: Path,
    config: dict,
    targets: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    cores: int = 2,
    timeout: int = 900,
    registry: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run the project's workflow with ``config`` in ``workdir``; return the finished process.

    ``registry`` (method name -> entry) is written to an extra method registry file that
    the config names (``method_registry``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if registry:
        registry_path = workdir / "methods.yaml"
        registry_path.write_text(yaml.safe_dump(registry, sort_keys=False))
        config = {**config, "method_registry": [str(registry_path)]}
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        str(cores),
        *extra,
        *targets,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)
