"""Test data for the CLAIRE method tests: log-normalised simulated counts."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp

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
