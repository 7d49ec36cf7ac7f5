"""scanpy's neighbour graph beyond its exact-kNN limit (8192 cells), where it switches to
pynndescent: the figures' UMAP and the DESC/scDCC Louvain initialisation on 20k cells.

With scanpy 1.11.5 and pynndescent 0.7.0 ``sc.pp.neighbors`` fails there
(``'csr_array' object has no attribute 'getnnz'``); pynndescent 0.5.13 works.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from claire.bench.competitors._deep_clustering import louvain_init
from claire.bench.plots.umap import compute_umap

N_CELLS = 20_000
N_BLOBS = 5


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """20k cells in 30-d: 5 well separated Gaussian blobs."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(N_BLOBS, 30))
    labels = rng.integers(N_BLOBS, size=N_CELLS)
    x = centres[labels] + rng.normal(size=(N_CELLS, 30))
    return x.astype(np.float32), labels


def test_umap_of_20k_cells(blobs):
    x, labels = blobs
    coords = compute_umap(x, seed=0)
    assert coords.shape == (N_CELLS, 2)
    assert np.isfinite(coords).all()
    # each blob stays together: its cells are closer to their own blob's centre
    centres = np.stack([coords[labels == b].mean(axis=0) for b in range(N_BLOBS)])
    nearest = ((coords[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    assert np.mean(nearest == labels) > 0.95


def test_louvain_initialisation_of_20k_cells(blobs):
    x, labels = blobs
    init = louvain_init(x, n_neighbors=10, resolution=0.8, seed=0, method="desc")
    assert init.labels.shape == (N_CELLS,)
    assert init.centroids.shape == (init.k, 30)
    assert init.k >= N_BLOBS
    # Louvain may split a blob, never merge two: every cluster is pure
    purity = [
        np.bincount(labels[init.labels == c]).max() / (init.labels == c).sum()
        for c in range(init.k)
    ]
    assert min(purity) > 0.99
    if init.k == N_BLOBS:
        assert adjusted_rand_score(labels, init.labels) > 0.99
    # centroids are the clusters' means
    np.testing.assert_allclose(init.centroids[0], x[init.labels == 0].mean(axis=0), atol=1e-4)
