"""Seurat's anchor score (competitors.anchor_score) against brute-force computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from claire.bench.competitors.anchor_score import (
    find_scored_anchors,
    neighbour_sets,
    rescale_scores,
    score_seeds,
    shared_counts,
)
from claire.pairs import batch_pair_seed, cca_embeddings, find_seeds, scale_genes

torch.set_num_threads(1)


def r_quantile(values: np.ndarray, p: float) -> float:
    """R's default (type 7) quantile, written out."""
    ordered = np.sort(values).astype(float)
    h = (len(ordered) - 1) * p
    lo = int(np.floor(h))
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def brute_sets(e_own: np.ndarray, e_other: np.ndarray, k: int) -> list[set[int]]:
    """Seurat's nbrset: k nearest of the own batch (self included) + k of the other."""
    d_own = ((e_own[:, None] - e_own[None]) ** 2).sum(-1)
    d_other = ((e_own[:, None] - e_other[None]) ** 2).sum(-1)
    own = np.argsort(d_own, axis=1, kind="stable")[:, :k]
    other = np.argsort(d_other, axis=1, kind="stable")[:, :k] + len(e_own)
    return [set(a) | set(b) for a, b in zip(own, other, strict=True)]


def three_batches(seed: int = 0, n_genes: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Three shifted batches of the same 3 clusters, batches interleaved in cell order."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (3, n_genes))
    sizes = (80, 65, 50)
    batch = rng.permutation(np.repeat(np.arange(3), sizes))
    types = rng.integers(0, 3, len(batch))
    shifts = rng.normal(0, 1, (3, n_genes))
    x = centres[types] + shifts[batch] + rng.normal(0, 1, (len(batch), n_genes))
    return x.astype(np.float32), np.array(["b0", "b1", "b2"])[batch]


def test_rescale_matches_r_quantiles_by_hand():
    shared = np.array([0, 3, 5, 5, 8, 10, 12, 20, 21, 30])
    q01, q90 = r_quantile(shared, 0.01), r_quantile(shared, 0.9)
    assert q01 == pytest.approx(0.27)  # h = 0.09: 0 + 0.09 * 3
    assert q90 == pytest.approx(21.9)  # h = 8.1: 21 + 0.1 * 9
    expected = np.clip((shared - q01) / (q90 - q01), 0, 1)
    np.testing.assert_allclose(rescale_scores(shared), expected)
    assert rescale_scores(shared)[-1] == 1.0 and rescale_scores(shared)[0] == 0.0
    np.testing.assert_array_equal(rescale_scores(np.array([4, 4, 4])), [1.0, 1.0, 1.0])


def test_shared_counts_and_sets_on_a_line():
    """1-D cells: A at 0,1,2,3 and B at 0.1,2.1,5; k = 2 sets written out by hand."""
    e_a = np.array([[0.0], [1.0], [2.0], [3.0]])
    e_b = np.array([[0.1], [2.1], [5.0]])
    sets_a = neighbour_sets(e_a, e_b, 2)
    # cell A0: own {0, 1}, other {B0, B1} -> {0, 1, 4, 5}
    assert set(sets_a[0]) == {0, 1, 4, 5}
    assert set(sets_a[3]) == {3, 2, 5, 6}  # A3: own {3, 2}; B1 (2.1) and B2 (5.0)
    sets_b = neighbour_sets(e_b, e_a, 2)
    assert set(sets_b[0]) == {0, 1, 3, 4}  # B0: own {B0, B1}, A {0, 1} (offset 3)
    a = np.array([[0, 1, 4, 5], [3, 2, 5, 6]])
    b = np.array([[9, 1, 5, 7], [0, 1, 4, 8]])
    np.testing.assert_array_equal(shared_counts(a, b), [2, 0])


@pytest.mark.parametrize("k_filter", [None, 60])
def test_scores_match_brute_force(k_filter):
    x, batch = three_batches()
    k_score, n_cca = 12, 10
    anchors = find_scored_anchors(
        x,
        batch,
        k_anchor=5,
        n_components=n_cca,
        k_filter=k_filter,
        k_score=k_score,
        seed=3,
        both_directions=False,
    )
    seeds = find_seeds(x, batch, k_anchor=5, n_components=n_cca, seed=3, k_filter=k_filter)
    np.testing.assert_array_equal(anchors.pairs, seeds)
    assert len(seeds) > 30
    codes = np.unique(batch, return_inverse=True)[1]
    expected_shared = np.zeros(len(seeds), dtype=int)
    expected_score = np.zeros(len(seeds))
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        ia, ib = np.flatnonzero(codes == a), np.flatnonzero(codes == b)
        e1, e2 = cca_embeddings(
            scale_genes(x[ia]), scale_genes(x[ib]), n_cca, seed=batch_pair_seed(3, a, b)
        )
        sets_a, sets_b = brute_sets(e1, e2, k_score), brute_sets(e2, e1, k_score)
        to_a = {
            **{n: len(ia) + n for n in range(len(ib))},
            **{len(ib) + n: n for n in range(len(ia))},
        }
        rows = [r for r, (p, q) in enumerate(seeds) if {codes[p], codes[q]} == {a, b}]
        for r in rows:
            p, q = seeds[r] if codes[seeds[r][0]] == a else seeds[r][::-1]
            i, j = int(np.flatnonzero(ia == p)[0]), int(np.flatnonzero(ib == q)[0])
            if k_filter is None:  # the recomputed CCA is find_seeds' space: a mutual 5-NN
                d12 = ((e1[i] - e2) ** 2).sum(-1)
                d21 = ((e2[j] - e1) ** 2).sum(-1)
                assert j in np.argsort(d12)[:5] and i in np.argsort(d21)[:5]
            expected_shared[r] = len(sets_a[i] & {to_a[v] for v in sets_b[j]})
        shared = expected_shared[rows].astype(float)
        lo, hi = r_quantile(shared, 0.01), r_quantile(shared, 0.9)
        expected_score[rows] = np.clip((shared - lo) / (hi - lo), 0, 1)
    np.testing.assert_array_equal(anchors.shared, expected_shared)
    np.testing.assert_allclose(anchors.score, expected_score, atol=1e-12)
    assert anchors.score.min() == 0.0 and anchors.score.max() == 1.0
    assert expected_shared.max() <= 2 * k_score


def test_both_directions_and_order_independence():
    x, batch = three_batches(seed=1)
    one = find_scored_anchors(x, batch, n_components=10, k_score=10, both_directions=False)
    two = find_scored_anchors(x, batch, n_components=10, k_score=10)
    n = len(one)
    np.testing.assert_array_equal(two.pairs[:n], one.pairs)
    np.testing.assert_array_equal(two.pairs[n:], one.pairs[:, ::-1])
    np.testing.assert_array_equal(two.score, np.tile(one.score, 2))
    # scoring flipped pairs gives the same scores
    flipped, _ = score_seeds(x, batch, one.pairs[:, ::-1], k_score=10, n_components=10)
    np.testing.assert_array_equal(flipped, one.score)


def test_same_batch_pair_is_rejected():
    x, batch = three_batches()
    same = np.flatnonzero(batch == "b0")[:2][None, :]
    with pytest.raises(ValueError, match="same batch"):
        score_seeds(x, batch, same, n_components=10)
