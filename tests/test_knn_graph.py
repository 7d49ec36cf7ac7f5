"""Our UMAP connectivities equal umap's fuzzy_simplicial_set bit for bit (the Louvain graph)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from helpers.data import blobs

from claire.bench.metrics import knn_graph
from claire.bench.metrics.pairwise import pairwise_summary


def exact_knn(emb: np.ndarray, k: int = 15) -> tuple[np.ndarray, np.ndarray]:
    n = emb.shape[0]
    single = np.zeros(n, dtype=np.int64)
    summary = pairwise_summary(emb, single, single, k=k)
    return summary.knn_indices, summary.knn_distances


def embeddings() -> dict[str, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, 5))
    spread = rng.random(100) < 0.5  # half the groups are exact duplicates of one point
    duplicated = np.repeat(centres, 8, axis=0)
    duplicated += rng.normal(size=duplicated.shape) * np.repeat(spread, 8)[:, None]
    collapsed = np.concatenate(
        [np.repeat(rng.normal(size=(40, 3)), 5, axis=0), 30.0 * rng.normal(size=(300, 3))]
    )
    return {
        "blobs": (blobs().obsm["X_emb"], 15),
        "duplicates": (duplicated, 15),  # sigma at its floor: far neighbours underflow to 0
        "collapsed_and_far": (collapsed, 15),
        "constant": (np.ones((120, 4)), 15),
        "k5": (rng.normal(size=(300, 3)), 5),
    }


@pytest.mark.parametrize("name", list(embeddings()))
def test_connectivities_equal_umaps_bit_for_bit(name):
    emb, k = embeddings()[name]
    idx, dist = exact_knn(emb, k)
    ours = knn_graph.knn_connectivities(idx, dist)
    theirs = knn_graph._umap_connectivities(idx, dist)
    assert isinstance(ours, sp.csr_matrix) and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_array_equal(ours.data, theirs.data)  # exact, not approximate


def test_an_exp_at_the_underflow_edge_is_left_to_umap(monkeypatch):
    emb, k = embeddings()["blobs"]
    idx, dist = exact_knn(emb, k)
    asked = []

    def umap_path(*args):
        asked.append(True)
        return sp.csr_matrix((emb.shape[0], emb.shape[0]))

    monkeypatch.setattr(knn_graph, "_umap_connectivities", umap_path)
    knn_graph.knn_connectivities(idx, dist)
    assert not asked  # ordinary data: no argument near float32 underflow
    monkeypatch.setattr(knn_graph, "_UNDERFLOW_BAND", (0.0, 1e9))
    knn_graph.knn_connectivities(idx, dist)
    assert asked
