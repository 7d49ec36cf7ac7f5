"""Test data: log-normalised simulated counts, the real Kang data preprocessed, blob
embeddings with awkward cell types, and small files in each source format."""

from __future__ import annotations

from functools import lru_cache

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from claire.bench.contract import to_standard_raw
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts


def log_normalise(counts: sp.spmatrix, target_sum: float = 1e4) -> sp.csr_matrix:
    """Counts per ``target_sum``, then log1p (the paper's preprocessing, without HVGs)."""
    counts = sp.csr_matrix(counts, dtype=np.float32)
    size = np.asarray(counts.sum(axis=1)).ravel()
    x = sp.csr_matrix(sp.diags(target_sum / np.maximum(size, 1)) @ counts, dtype=np.float32)
    x.data = np.log1p(x.data)
    return x


@lru_cache(maxsize=4)
def simulated_data(
    n_cells: int = 1500, n_genes: int = 1000, n_batches: int = 3, seed: int = 0
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(log-normalised X, batch, cell type) of a small simulated dataset (5 types, 20 % DE
    genes per type, so that types separate clearly within each batch)."""
    raw = simulate_counts(
        n_cells=n_cells,
        n_genes=n_genes,
        n_batches=n_batches,
        n_cell_types=5,
        de_prob=0.2,
        seed=seed,
    )
    batch = raw.obs["batch"].astype(str).to_numpy()
    labels = raw.obs["cell_type"].astype(str).to_numpy()
    return log_normalise(raw.X), batch, labels


def small_preprocessed(n_batches: int = 3, seed: int = 5) -> ad.AnnData:
    """300 simulated cells x 300 genes (3 cell types), preprocessed to 200 HVGs."""
    raw = simulate_counts(n_cells=300, n_genes=300, n_batches=n_batches, n_cell_types=3, seed=seed)
    return preprocess(raw, n_hvg=200)


def kang_preprocessed(kang_raw: ad.AnnData) -> ad.AnnData:
    """Kang PBMC (4 samples as batches, 5 types), 1000 HVGs."""
    raw = to_standard_raw(kang_raw, "sample_id", "cluster_id", name="kang")
    return preprocess(raw, n_hvg=1000, name="kang")


def blobs(n_cells: int = 600, seed: int = 0, dim: int = 12) -> ad.AnnData:
    """Cell types as Gaussian blobs with a batch shift, plus three awkward cell types.

    'solo' lives in one batch only (scib skips it in bASW), 'one_each' has exactly one
    cell per batch (also skipped), 'lonely' has a single cell in batch b2 (silhouette 0).
    """
    rng = np.random.default_rng(seed)
    types = rng.choice(["t1", "t2", "t3", "t4"], size=n_cells, p=[0.4, 0.3, 0.2, 0.1])
    types, batches = types.astype(object), rng.choice(["b0", "b1", "b2"], size=n_cells)
    types[:25], batches[:25] = "solo", "b0"
    types[25:28], batches[25:28] = "one_each", ["b0", "b1", "b2"]
    types[28:40], batches[28:40] = "lonely", ["b2"] + ["b0", "b1"] * 5 + ["b0"]
    centres = {t: rng.normal(0, 3, dim) for t in np.unique(types)}
    shifts = {b: rng.normal(0, 0.8, dim) for b in np.unique(batches)}
    emb = np.stack([centres[t] + shifts[b] for t, b in zip(types, batches, strict=True)])
    emb = (emb + rng.normal(0, 1.0, emb.shape)).astype(np.float32)
    obs = pd.DataFrame(
        {"batch": pd.Categorical(batches), "cell_type": pd.Categorical(types)},
        index=[f"c{i}" for i in range(n_cells)],
    )
    return ad.AnnData(obs=obs, obsm={"X_emb": emb})
