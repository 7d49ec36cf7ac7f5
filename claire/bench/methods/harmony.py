"""Harmony (Korsunsky et al. 2019) through harmonypy 2.x on 50 PCs of the scaled HVGs."""

from __future__ import annotations

import anndata as ad
import harmonypy
import numpy as np

from claire.bench.contract import InputError
from claire.bench.methods.pca import scaled_pca


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    n_comps: int = 50,
    theta: float = 2.0,
    sigma: float = 0.1,
    max_iter_harmony: int = 10,
    ncores: int | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Correct the PCA of the scaled HVGs with Harmony (defaults as in the R package).

    ``ncores`` defaults to the job's ``threads`` (given by the workflow), else 0: one
    thread per physical core; harmonypy's results do not depend on it.
    """
    if ncores is None:
        ncores = threads or 0
    if batch_key not in adata.obs.columns:
        raise InputError(f"harmony: obs[{batch_key!r}] is missing")
    pcs = scaled_pca(adata, n_comps=n_comps, seed=seed)
    model = harmonypy.run_harmony(
        pcs,
        adata.obs[[batch_key]],
        batch_key,
        theta=theta,
        sigma=sigma,
        max_iter_harmony=max_iter_harmony,
        random_state=seed,
        ncores=ncores,
        verbose=False,
    )
    corrected = np.asarray(model.Z_corr)
    if corrected.shape != pcs.shape:
        raise RuntimeError(
            f"harmony: Z_corr has shape {corrected.shape}, expected cells x dims {pcs.shape} "
            "(harmonypy < 2 returns dims x cells; install harmonypy 2.x)"
        )
    return corrected
