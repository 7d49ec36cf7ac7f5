"""Runs of an adapter for the method tests: seeded reruns, a run through the harness."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np

from claire.bench.contract import AdapterResult
from claire.bench.methods.base import run_method


def seeded_runs(
    run: Callable[..., AdapterResult], adata: ad.AnnData, seed: int, **params: Any
) -> tuple[AdapterResult, AdapterResult]:
    """Two runs with ``seed`` and one with ``seed + 1``: asserts the first two give the same
    embedding and the third another; returns the first two."""
    first = run(adata, "batch", seed=seed, **params)
    again = run(adata, "batch", seed=seed, **params)
    other = run(adata, "batch", seed=seed + 1, **params)
    np.testing.assert_array_equal(first.embedding, again.embedding)
    assert not np.array_equal(first.embedding, other.embedding)
    return first, again


def harness_run(
    name: str, run: Callable[..., AdapterResult], adata: ad.AnnData, params: dict, tmp: Path
) -> tuple[np.ndarray, dict]:
    """Run ``run`` through the harness (seed 0): its finite embedding and its run statistics
    read back from the written result file (they must be h5ad-serialisable)."""
    result = run_method(adata, name, run, params, seed=0, record_errors=False)
    emb = result.obsm["X_emb"]
    assert emb.shape[0] == adata.n_obs and np.isfinite(emb).all()
    result.write_h5ad(tmp / "result.h5ad")
    return emb, ad.read_h5ad(tmp / "result.h5ad").uns[name]
