"""Scanorama (Hie et al. 2019): its integrated low-dimensional embedding.

As in the scIB benchmark: the log-normalised HVGs are scaled within each batch, the
cells are split by batch, and Scanorama's 50-d integrated embedding is put back in
the original cell order. scIB calls ``correct_scanpy(return_dimred=True)`` because it
also scores the corrected genes; the benchmark scores the embedding only, so the adapter
calls ``integrate_scanpy``, which computes the same embedding (same seeding, same
alignments, same translations; the gene-space correction only runs beside it and draws
no random numbers) without correcting the gene matrix: at 40k cells that correction held
~10 GB (dense translation weights and a dense copy of every batch) and most of the CPU.
``tests/test_methods_adapters.py`` checks the two embeddings are identical.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import scanorama
import scanpy as sc

from claire.bench.contract import InputError

log = logging.getLogger(__name__)


def split_by_batch(
    adata: ad.AnnData, batch_key: str, scale_per_batch: bool
) -> tuple[list[ad.AnnData], list[np.ndarray]]:
    """Return one AnnData per batch (optionally z-scored per gene) and its row indices."""
    if batch_key not in adata.obs.columns:
        raise InputError(f"scanorama: obs[{batch_key!r}] is missing")
    codes = adata.obs[batch_key].astype("category")
    parts, rows = [], []
    for batch in codes.cat.categories:
        idx = np.flatnonzero((codes == batch).to_numpy())
        if idx.size == 0:
            continue
        part = ad.AnnData(X=adata.X[idx].copy(), var=adata.var[[]].copy())
        part.obs_names = adata.obs_names[idx]
        if scale_per_batch:
            sc.pp.scale(part)
        parts.append(part)
        rows.append(idx)
    if len(parts) < 2:
        raise InputError("scanorama: needs at least two non-empty batches")
    return parts, rows


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    dimred: int = 50,
    knn: int = 20,
    sigma: float = 15.0,
    alpha: float = 0.1,
    approx: bool = True,
    batch_size: int = 5000,
    scale_per_batch: bool = True,
) -> np.ndarray:
    """Integrate the batches with Scanorama and return its ``dimred``-d embedding."""
    parts, rows = split_by_batch(adata, batch_key, scale_per_batch)
    log.info("scanorama: %d batches of %s cells", len(parts), [p.n_obs for p in parts])
    scanorama.integrate_scanpy(
        parts,
        dimred=dimred,
        knn=knn,
        sigma=sigma,
        alpha=alpha,
        approx=approx,
        batch_size=batch_size,
        seed=seed,
        verbose=0,
    )
    embedding = np.zeros((adata.n_obs, parts[0].obsm["X_scanorama"].shape[1]), np.float32)
    for part, idx in zip(parts, rows, strict=True):
        embedding[idx] = part.obsm["X_scanorama"]
    return embedding
