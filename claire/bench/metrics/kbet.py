"""kBET acceptance rate, the variant of scETM (Zhao et al. 2021) that the CLAIRE paper uses.

For every cell, the batch counts of its k nearest neighbours (the cell itself included)
are compared with the global batch frequencies by a chi-square test with
(n_batches - 1) degrees of freedom; the score is the share of cells whose p-value is
>= alpha. This is not R's kBET (Buttner et al. 2019), which tests a random subset of
cells with an adaptive neighbourhood size; scib and scib-metrics implement that one.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2


def kbet_pvalues(knn_indices: np.ndarray, batches: np.ndarray) -> np.ndarray:
    """Per-cell chi-square p-values of neighbourhood batch counts vs global frequencies.

    ``knn_indices``: (n, k) neighbour indices including the cell itself; ``batches``:
    integer batch codes 0..B-1 (every code present at least once).
    """
    n, k = knn_indices.shape
    n_batches = int(batches.max()) + 1
    expected = np.bincount(batches, minlength=n_batches) / batches.size * k
    neighbour_batches = batches[knn_indices]
    flat = np.arange(n)[:, None] * n_batches + neighbour_batches
    observed = np.bincount(flat.ravel(), minlength=n * n_batches).reshape(n, n_batches)
    stat = (((observed - expected) ** 2) / expected).sum(axis=1)
    return chi2.sf(stat, df=n_batches - 1)


def kbet_acceptance(knn_indices: np.ndarray, batches: np.ndarray, alpha: float = 0.05) -> float:
    """Share of cells whose neighbourhood passes the chi-square test (p >= ``alpha``)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(np.mean(kbet_pvalues(knn_indices, batches) >= alpha))
