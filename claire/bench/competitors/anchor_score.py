"""Seurat's anchor score (``ScoreAnchors``, Stuart et al. 2019) on the project's seeds.

An anchor (i in batch A, j in batch B) is scored by the overlap of two neighbourhoods in
the pair's L2-normalised CCA space: i's ``k_score`` nearest cells of A (itself included,
as Seurat's within-batch search returns the query first) plus its ``k_score`` nearest
cells of B, against the same two sets of j. The number of shared cells is rescaled per
pair of batches: minus its 1 % quantile, divided by the 90 % minus the 1 % quantile
(R's default type-7 quantiles, numpy's ``linear``), clipped to [0, 1].

The anchors are the seeds of :func:`claire.pairs.find_seeds` (mutual neighbours in the
CCA, Seurat's filter), so MAT2 and CLAIRE draw from one implementation. The CCA of each
batch pair is recomputed with the same seed as in ``find_seeds``, i.e. the same space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from claire.neighbors import EXACT_LIMIT, knn_search
from claire.pairs import batch_codes, batch_pair_seed, cca_embeddings, find_seeds, scale_genes

log = logging.getLogger(__name__)

K_SCORE = 30  # Seurat's k.score
LOW_QUANTILE = 0.01
HIGH_QUANTILE = 0.9


@dataclass(frozen=True)
class ScoredAnchors:
    """Anchor pairs (n x 2 global cell indices), their rescaled score and raw overlap."""

    pairs: np.ndarray
    score: np.ndarray
    shared: np.ndarray

    def __len__(self) -> int:
        return len(self.pairs)


def neighbour_sets(
    e_own: np.ndarray,
    e_other: np.ndarray,
    k_score: int,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
) -> np.ndarray:
    """Each cell's Seurat neighbour set: its ``k_score`` nearest cells of its own batch
    (itself first) and of the other batch, as local indices (own: 0.., other: offset
    ``len(e_own)``); n_own x (k_own + k_other), each row without duplicates."""
    k_own, k_other = min(k_score, len(e_own)), min(k_score, len(e_other))
    own = knn_search(e_own, k_own, queries=e_own, seed=seed, exact_limit=exact_limit)
    other = knn_search(e_other, k_other, queries=e_own, seed=seed, exact_limit=exact_limit)
    return np.concatenate([own, other + len(e_own)], axis=1)


def shared_counts(sets_a: np.ndarray, sets_b: np.ndarray) -> np.ndarray:
    """Row-wise size of the intersection of two index sets (rows without duplicates)."""
    both = np.sort(np.concatenate([sets_a, sets_b], axis=1), axis=1)
    return (both[:, 1:] == both[:, :-1]).sum(axis=1)


def rescale_scores(
    shared: np.ndarray, low: float = LOW_QUANTILE, high: float = HIGH_QUANTILE
) -> np.ndarray:
    """Seurat's normalisation: (s - q_low) / (q_high - q_low) clipped to [0, 1].

    If the two quantiles coincide Seurat divides by zero; here every anchor then scores
    1 (all equally reliable).
    """
    shared = np.asarray(shared, dtype=np.float64)
    if len(shared) == 0:
        return shared
    q_low, q_high = np.quantile(shared, [low, high])
    if q_high == q_low:
        return np.ones_like(shared)
    return np.clip((shared - q_low) / (q_high - q_low), 0.0, 1.0)


def score_seeds(
    x: np.ndarray | sp.spmatrix,
    batch: np.ndarray,
    seeds: np.ndarray,
    *,
    k_score: int = K_SCORE,
    n_components: int = 30,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
) -> tuple[np.ndarray, np.ndarray]:
    """Rescaled Seurat score and raw shared-neighbour count of each seed pair (row order
    of ``seeds``). ``x``, ``batch``, ``n_components`` and ``seed`` must be those given to
    :func:`claire.pairs.find_seeds`, so that each batch pair's CCA is the same space."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
    codes = batch_codes(batch)
    members = [np.flatnonzero(codes == b) for b in range(codes.max() + 1)]
    x = sp.csr_matrix(x) if sp.issparse(x) else np.asarray(x)
    first, second = codes[seeds[:, 0]], codes[seeds[:, 1]]
    if np.any(first == second):
        raise ValueError("a seed pair joins two cells of the same batch")
    flip = first > second
    oriented = np.where(flip[:, None], seeds[:, ::-1], seeds)
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    score, shared = np.zeros(len(seeds)), np.zeros(len(seeds), dtype=np.int64)
    local = np.empty(len(codes), dtype=np.int64)
    for idx in members:
        local[idx] = np.arange(len(idx))
    for a, b in sorted(set(zip(lo.tolist(), hi.tolist(), strict=True))):
        rows = np.flatnonzero((lo == a) & (hi == b))
        ia, ib = members[a], members[b]
        e1, e2 = cca_embeddings(
            scale_genes(x[ia]), scale_genes(x[ib]), n_components, seed=batch_pair_seed(seed, a, b)
        )
        sets_a = neighbour_sets(e1, e2, k_score, seed=seed, exact_limit=exact_limit)
        sets_b = neighbour_sets(e2, e1, k_score, seed=seed, exact_limit=exact_limit)
        # express B's sets in A's numbering: A cells 0..n_a-1, B cells n_a..
        sets_b = np.where(sets_b >= len(ib), sets_b - len(ib), sets_b + len(ia))
        i, j = local[oriented[rows, 0]], local[oriented[rows, 1]]
        shared[rows] = shared_counts(sets_a[i], sets_b[j])
        score[rows] = rescale_scores(shared[rows])
        log.info(
            "batches %d-%d: %d anchors scored, median %d shared neighbours",
            a,
            b,
            len(rows),
            int(np.median(shared[rows])),
        )
    return score, shared


def find_scored_anchors(
    x: np.ndarray | sp.spmatrix,
    batch: np.ndarray,
    *,
    k_anchor: int = 5,
    n_components: int = 30,
    k_filter: int | None = 200,
    k_score: int = K_SCORE,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
    unit_pcs: np.ndarray | None = None,
    both_directions: bool = True,
) -> ScoredAnchors:
    """Seeds of :func:`claire.pairs.find_seeds` with their Seurat scores.

    ``both_directions`` lists every anchor twice, (i, j) and (j, i), as Seurat's
    ``FindIntegrationAnchors`` returns them; otherwise once, first index < second.
    """
    seeds = find_seeds(
        x,
        batch,
        k_anchor=k_anchor,
        n_components=n_components,
        seed=seed,
        exact_limit=exact_limit,
        k_filter=k_filter,
        unit_pcs=unit_pcs,
    )
    score, shared = score_seeds(
        x,
        batch,
        seeds,
        k_score=k_score,
        n_components=n_components,
        seed=seed,
        exact_limit=exact_limit,
    )
    if both_directions:
        seeds = np.concatenate([seeds, seeds[:, ::-1]])
        score, shared = np.tile(score, 2), np.tile(shared, 2)
    return ScoredAnchors(np.ascontiguousarray(seeds), score, shared)
