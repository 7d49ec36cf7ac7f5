"""Unintegrated baseline: scaled log-normalised HVGs -> PCA (50 components)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import scanpy as sc


def scaled_pca(
    adata: ad.AnnData, n_comps: int, seed: int, max_value: float | None = 10.0
) -> np.ndarray:
    """PCA of the z-scored expression (scanpy's scale + pca, ARPACK, seeded)."""
    work = ad.AnnData(X=adata.X.copy(), obs=adata.obs[[]].copy())
    sc.pp.scale(work, max_value=max_value)
    n_comps = min(n_comps, min(work.shape) - 1)
    sc.tl.pca(work, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    return work.obsm["X_pca"]


def run(adata: ad.AnnData, batch_key: str, seed: int, n_comps: int = 50) -> np.ndarray:
    """Embed the cells without any batch correction."""
    return scaled_pca(adata, n_comps=n_comps, seed=seed)
