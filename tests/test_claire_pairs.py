"""Seeds (CCA + MNN), intra-batch KNN and the linear algebra beneath them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from claire import neighbors
from claire.linalg import pca_scores, randomized_svd
from claire.neighbors import knn_search, neighbour_ranks
from claire.pairs import (
    cca_embeddings,
    filter_seeds,
    filter_size,
    find_seeds,
    intra_batch_knn,
    mutual_nearest_neighbours,
    scale_genes,
)


def brute_knn(data: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    dist = ((queries[:, None, :] - data[None, :, :]) ** 2).sum(-1)
    return [set(np.argsort(row, kind="stable")[:k]) for row in dist]


def brute_mnn(e1: np.ndarray, e2: np.ndarray, k: int) -> set[tuple[int, int]]:
    nn12, nn21 = brute_knn(e2, e1, k), brute_knn(e1, e2, k)
    return {(i, j) for i in range(len(e1)) for j in nn12[i] if i in nn21[j]}


def two_batches(seed: int = 0, n1: int = 70, n2: int = 55, n_genes: int = 40):
    """Two batches of 3 shared clusters with a batch shift (dense, cells x genes)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (3, n_genes))
    shift = rng.normal(0, 1, n_genes)
    t1, t2 = rng.integers(0, 3, n1), rng.integers(0, 3, n2)
    x1 = centres[t1] + rng.normal(0, 1, (n1, n_genes))
    x2 = centres[t2] + shift + rng.normal(0, 1, (n2, n_genes))
    return x1.astype(np.float32), x2.astype(np.float32), t1, t2


def test_knn_search_matches_brute_force_across_tiles(monkeypatch):
    rng = np.random.default_rng(1)
    data, queries = rng.normal(size=(90, 6)), rng.normal(size=(33, 6))
    monkeypatch.setattr(neighbors, "_TILE_FLOATS", 200)  # force many query blocks
    found = knn_search(data, 4, queries=queries)
    assert [set(row) for row in found] == brute_knn(data, queries, 4)
    self_found = knn_search(data, 5)
    expected = [s - {i} for i, s in enumerate(brute_knn(data, data, 6))]
    assert [set(row) for row in self_found] == expected


def test_knn_search_rejects_too_large_k():
    with pytest.raises(ValueError, match="k=10"):
        knn_search(np.zeros((10, 2)), 10)


def test_mnn_matches_brute_force():
    x1, x2, _, _ = two_batches()
    e1, e2 = x1[:, :5], x2[:, :5]
    for k in (1, 3, 7):
        i, j = mutual_nearest_neighbours(e1, e2, k)
        assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute_mnn(e1, e2, k)


def test_randomized_svd_recovers_low_rank_matrix():
    rng = np.random.default_rng(2)
    a = (rng.normal(size=(80, 6)) * [10, 8, 6, 4, 2, 1]) @ rng.normal(size=(6, 50))
    a = a.astype(np.float32)
    import torch

    t = torch.from_numpy(a)
    u, s, vt = randomized_svd(t.__matmul__, t.T.__matmul__, a.shape, 6, seed=0)
    s_exact = np.linalg.svd(a, compute_uv=False)[:6]
    np.testing.assert_allclose(s.numpy(), s_exact, rtol=1e-4)
    np.testing.assert_allclose((u * s) @ vt, a, atol=1e-3 * np.abs(a).max())


def test_pca_scores_match_dense_pca_for_sparse_input():
    rng = np.random.default_rng(3)
    signal = (rng.normal(size=(120, 5)) * [9, 7, 5, 4, 3]) @ rng.normal(size=(5, 30))
    x = np.maximum(signal + rng.normal(size=signal.shape), 0).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :5] * s[:5]
    scores = pca_scores(sp.csr_matrix(x), 5, seed=0)
    assert scores.shape == (120, 5) and scores.dtype == np.float32
    # component by component equal up to sign
    for c in range(5):
        assert (
            min(
                np.abs(scores[:, c] - expected[:, c]).max(),
                np.abs(scores[:, c] + expected[:, c]).max(),
            )
            < 1e-3 * np.abs(expected).max()
        )


def test_scale_genes_zscores_clips_and_zeroes_constant_genes():
    rng = np.random.default_rng(4)
    x = np.stack([rng.normal(3, 2, 200), np.full(200, 5.0), np.zeros(200)], axis=1)
    x[0, 2] = 100.0  # one extreme outlier: z = sqrt(199) > 10
    z = scale_genes(x, clip=10.0).numpy()
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, 0].std(ddof=1), 1, rtol=1e-5)
    assert np.all(z[:, 1] == 0)  # constant gene
    assert z[:, 2].max() == pytest.approx(10.0)  # outlier clipped


def test_find_seeds_equals_dense_cca_plus_brute_mnn():
    x1, x2, _, _ = two_batches(seed=4)
    x = np.vstack([x1, x2])
    batch = np.array(["a"] * len(x1) + ["b"] * len(x2))
    seeds = find_seeds(x, batch, k_anchor=5, n_components=3)
    # reference: exact SVD of the dense cross-product, exact MNN
    z1, z2 = scale_genes(x1).numpy(), scale_genes(x2).numpy()
    u, _, vt = np.linalg.svd(z1 @ z2.T)
    e1 = u[:, :3] / np.linalg.norm(u[:, :3], axis=1, keepdims=True)
    e2 = vt[:3].T / np.linalg.norm(vt[:3].T, axis=1, keepdims=True)
    expected = {(i, len(x1) + j) for i, j in brute_mnn(e1, e2, 5)}
    found = set(map(tuple, seeds.tolist()))
    assert len(found & expected) / len(found | expected) > 0.95


def test_find_seeds_are_unique_sorted_cross_batch_pairs_and_mostly_true():
    rng = np.random.default_rng(5)
    blocks, types, batches = [], [], []
    for b in range(3):
        x1, _, t1, _ = two_batches(seed=10, n1=60 + 10 * b)
        blocks.append(x1 + rng.normal(0, 0.5, x1.shape[1]).astype(np.float32))
        types.append(t1)
        batches += [f"b{b}"] * len(x1)
    x, types, batches = np.vstack(blocks), np.concatenate(types), np.array(batches)
    seeds = find_seeds(sp.csr_matrix(x), batches, k_anchor=5, n_components=10)
    assert seeds.dtype == np.int64 and seeds.shape[1] == 2 and len(seeds) > 50
    assert np.all(seeds[:, 0] < seeds[:, 1])
    assert len(np.unique(seeds, axis=0)) == len(seeds)
    assert np.all(np.diff(seeds[:, 0]) >= 0)
    assert np.all(batches[seeds[:, 0]] != batches[seeds[:, 1]])
    pairs_of_batches = {tuple(sorted(p)) for p in batches[seeds].tolist()}
    assert pairs_of_batches == {("b0", "b1"), ("b0", "b2"), ("b1", "b2")}
    assert np.mean(types[seeds[:, 0]] == types[seeds[:, 1]]) > 0.8


def test_filter_size_is_seurats_k_capped_by_a_share_of_the_batch():
    assert filter_size(200, 300, None, 5) == 200  # Seurat: fixed
    assert filter_size(200, 5000, 0.1, 5) == 200  # large batches keep Seurat's 200
    assert filter_size(200, 2000, 0.1, 5) == 200
    assert filter_size(200, 1999, 0.1, 5) == 200  # ceil(199.9)
    assert filter_size(200, 301, 0.1, 5) == 31
    assert filter_size(200, 20, 0.1, 5) == 5  # never below k_anchor


def test_filter_share_keeps_the_pairs_within_that_share_of_the_searched_batch():
    """Small batches: the share, not Seurat's 200, decides; the kept pairs are exactly
    those whose partner ranks below ceil(share * batch size) in the PCA space."""
    x1, x2, t1, t2 = two_batches(seed=6, n1=240, n2=160)
    x = np.vstack([x1, x2])
    batch = np.array(["a"] * len(x1) + ["b"] * len(x2))
    types = np.concatenate([t1, t2])
    unit = pca_scores(x, 10, seed=0)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    unit = unit.astype(np.float32)
    kwargs = {"k_anchor": 5, "n_components": 5, "unit_pcs": unit}
    loose = find_seeds(x, batch, k_filter=200, **kwargs)
    fixed = find_seeds(x, batch, k_filter=200, k_filter_share=None, **kwargs)
    shared = find_seeds(x, batch, k_filter=200, k_filter_share=0.1, **kwargs)
    np.testing.assert_array_equal(loose, fixed)
    assert set(map(tuple, shared.tolist())) < set(map(tuple, loose.tolist()))
    i, j = loose[:, 0], loose[:, 1] - len(x1)
    keep = filter_seeds(i, j, unit[: len(x1)], unit[len(x1) :], 16, exact_limit=np.inf)
    np.testing.assert_array_equal(shared, loose[keep])  # ceil(0.1 * 160) = 16
    assert np.mean(types[shared[:, 0]] == types[shared[:, 1]]) >= np.mean(
        types[loose[:, 0]] == types[loose[:, 1]]
    )


def test_find_seeds_needs_two_batches():
    with pytest.raises(ValueError, match="two batches"):
        find_seeds(np.ones((10, 5)), np.zeros(10))


def test_cca_embeddings_are_unit_rows():
    x1, x2, _, _ = two_batches(seed=6)
    e1, e2 = cca_embeddings(scale_genes(x1), scale_genes(x2), n_components=8)
    assert e1.shape == (len(x1), 8) and e2.shape == (len(x2), 8)
    np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(e2, axis=1), 1, rtol=1e-5)


def test_intra_batch_knn_stays_within_batch_and_matches_cosine_brute_force():
    x1, x2, _, _ = two_batches(seed=7)
    x = np.vstack([x1, x2])
    batch = np.array([0] * len(x1) + [1] * len(x2))
    knn = intra_batch_knn(x, batch, k=6, n_pcs=10)
    assert knn.shape == (len(x), 6)
    assert np.all(batch[knn] == batch[:, None])
    assert not np.any(knn == np.arange(len(x))[:, None])
    pcs = pca_scores(x, 10)
    pcs /= np.linalg.norm(pcs, axis=1, keepdims=True)
    first = pcs[: len(x1)]
    expected = [s - {i} for i, s in enumerate(brute_knn(first, first, 7))]
    assert [set(row) for row in knn[: len(x1)]] == expected


def test_intra_batch_knn_small_batches_repeat_neighbours():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(24, 12)).astype(np.float32)
    batch = np.array([0] * 20 + [1] * 3 + [2])
    knn = intra_batch_knn(x, batch, k=5, n_pcs=5)
    assert set(knn[20]) <= {21, 22} and len(set(knn[20])) == 2
    assert np.all(knn[23] == 23)  # a lone cell is its own neighbour


def clustered_points(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (30, dim))
    points = centres[rng.integers(0, 30, n)] + rng.normal(0, 1, (n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_approximate_knn_has_high_recall():
    data = clustered_points(6000, 20, seed=9)
    queries = clustered_points(1500, 20, seed=10)
    for k, q in ((5, None), (50, queries)):
        exact = knn_search(data, k, queries=q, exact_limit=np.inf)
        approx = knn_search(data, k, queries=q, exact_limit=0)
        recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact, strict=True)])
        assert recall > 0.95, (k, recall)
    self_approx = knn_search(data, 5, exact_limit=0)
    assert not np.any(self_approx == np.arange(len(data))[:, None])


def test_neighbour_ranks_exact_and_approximate():
    data = clustered_points(4000, 10, seed=11)
    queries = clustered_points(300, 10, seed=12)
    targets = np.random.default_rng(13).integers(0, len(data), 300)
    targets[:100] = knn_search(data, 20, queries=queries[:100], exact_limit=np.inf)[:, 7]
    dist = ((queries[:, None, :] - data[None, :, :]) ** 2).sum(-1)
    expected = (dist < dist[np.arange(300), targets][:, None]).sum(axis=1)
    exact = neighbour_ranks(data, queries, targets, exact_limit=np.inf)
    assert np.abs(exact - expected).max() <= 1  # float32 ties aside
    assert np.all(np.abs(exact[:100] - 7) <= 1)
    approx = neighbour_ranks(data, queries, targets, exact_limit=0)
    near = expected < 200
    # near targets keep (about) their rank; far ones are never reported as near
    assert np.mean(np.abs(approx[near] - expected[near]) <= 2) > 0.95
    assert np.all(approx[expected >= 1000] >= 200)
