"""A toy integration method, registered from the test suite to exercise the plug-in interface.

It embeds the cells with the baseline's scaled PCA and removes each batch's mean from the
scores (per-batch centring), the simplest correction that mixes batches. ``fail=True``
makes it raise, to test how the workflow records a failing method; ``seconds_per_1k_cells``
makes it slow in proportion to the data, to test the scaling experiment's time budget.
"""

from __future__ import annotations

import time

import anndata as ad
import numpy as np

from claire.bench.methods.pca import scaled_pca


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    n_comps: int = 10,
    fail: bool = False,
    seconds_per_1k_cells: float = 0.0,
) -> np.ndarray:
    """Per-batch centred PCA scores (n_cells x n_comps)."""
    if fail:
        raise RuntimeError("toy method failed on purpose")
    time.sleep(seconds_per_1k_cells * adata.n_obs / 1000)
    scores = scaled_pca(adata, n_comps=n_comps, seed=seed)
    batches = adata.obs[batch_key].to_numpy()
    for batch in np.unique(batches):
        rows = batches == batch
        scores[rows] -= scores[rows].mean(axis=0)
    return scores
