"""Shared fixtures: the real test data and a small simulated dataset (helpers live in the
tests/helpers package)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import pytest
from helpers.data import kang_preprocessed, small_preprocessed
from helpers.workflow import CELLBENCH, KANG


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


@pytest.fixture(scope="module")
def small(request) -> ad.AnnData:
    """300 simulated cells x 300 genes, 3 types, 200 HVGs: 3 batches, seed 5, unless the
    test module sets ``SMALL = {"n_batches": ..., "seed": ...}``."""
    return small_preprocessed(**getattr(request.module, "SMALL", {}))


@pytest.fixture(scope="module")
def kang(kang_raw) -> ad.AnnData:
    """Kang PBMC preprocessed: 4 samples as batches, 5 types, 1000 HVGs."""
    return kang_preprocessed(kang_raw)


@pytest.fixture(scope="module")
def kang_pca(kang):
    """The unintegrated PCA's batch mixing (:class:`helpers.scoring.Mixing`) and NMI on Kang."""
    from helpers.scoring import baseline_mixing

    from claire.bench.methods import pca
    from claire.bench.metrics import nmi_ari

    nmi = nmi_ari(pca.run(kang, "batch", 0), kang.obs["cell_type"].to_numpy()).nmi
    return baseline_mixing(kang), nmi
