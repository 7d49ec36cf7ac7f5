"""ComBat (Johnson et al. 2007) through scanpy.pp.combat, then the baseline's scaled PCA."""

from __future__ import annotations

import anndata as ad
import numpy as np
import scanpy as sc

from claire.bench.contract import InputError
from claire.bench.methods.pca import scaled_pca


def run(adata: ad.AnnData, batch_key: str, seed: int, n_comps: int = 50) -> np.ndarray:
    """Remove location/scale batch effects from the log-normalised HVGs, then PCA.

    ComBat itself is deterministic; the seed drives the PCA.
    """
    if batch_key not in adata.obs.columns:
        raise InputError(f"combat: obs[{batch_key!r}] is missing")
    work = ad.AnnData(X=adata.X.copy(), obs=adata.obs[[batch_key]].copy())
    sc.pp.combat(work, key=batch_key)
    return scaled_pca(work, n_comps=n_comps, seed=seed)
