"""Seeds of positive pairs (inter-batch MNN after CCA) and intra-batch KNN (paper 2.2).

Seeds follow Seurat's anchor search (Stuart et al. 2019): each batch's HVGs are z-scored
within the batch (clipped at 10), the cross-product ``Z1 @ Z2.T`` is decomposed by a
randomised SVD that only multiplies thin blocks, the canonical scores are L2-normalised
per cell, and mutual ``k_anchor``-nearest neighbours become seeds. As in Seurat's
FilterAnchors (k.filter = 200), a pair survives only if its cells are also close in
expression space; we measure that in the same 50-PC cosine space as the intra-batch KNN
(Seurat uses the top CCA-loading genes). Every pair of batches is searched; the result
is a deduplicated array of global cell-index pairs.

:func:`build_pairs` is the one entry point of training: it computes the shared cosine
space (:func:`unit_pca_scores`) once and returns the seeds and the intra-batch KNN.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch

from claire.linalg import pca_scores, randomized_svd
from claire.neighbors import EXACT_LIMIT, knn_search, neighbour_ranks

if TYPE_CHECKING:
    from claire.params import ClaireParams

log = logging.getLogger(__name__)

SCALE_CLIP = 10.0  # Seurat's ScaleData scale.max
_PAIR_SEED_STRIDE = 7919  # a prime: distinct RNG seeds for every pair of batches (a < b)


def batch_codes(batch: np.ndarray) -> np.ndarray:
    """Integer codes 0..M-1 (in sorted order of the batch names) of a batch vector."""
    _, codes = np.unique(np.asarray(batch), return_inverse=True)
    return codes.astype(np.int64)


def scale_genes(x: np.ndarray | sp.spmatrix, clip: float = SCALE_CLIP) -> torch.Tensor:
    """Dense float32 z-scores of each gene (column) within ``x``; constant genes become 0."""
    dense = torch.from_numpy(x.toarray() if sp.issparse(x) else np.array(x, copy=True))
    dense = dense.to(torch.float32)
    mean = dense.mean(dim=0)
    std = dense.std(dim=0) if dense.shape[0] > 1 else torch.zeros_like(mean)
    dense -= mean
    dense /= torch.where(std > 0, std, torch.inf)
    return dense.clamp_(-clip, clip)


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def cca_embeddings(
    z1: torch.Tensor, z2: torch.Tensor, n_components: int = 30, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised canonical scores of two scaled batches (cells x genes each).

    The SVD of ``z1 @ z2.T`` is computed through products with thin blocks only.
    """
    n1, n2 = z1.shape[0], z2.shape[0]
    n_components = min(n_components, n1, n2)
    u, _, vt = randomized_svd(
        lambda b: z1 @ (z2.T @ b),
        lambda b: z2 @ (z1.T @ b),
        (n1, n2),
        n_components,
        seed=seed,
    )
    return _l2_normalise(u.numpy()), _l2_normalise(vt.T.numpy())


def mutual_nearest_neighbours(
    e1: np.ndarray, e2: np.ndarray, k: int, seed: int = 0, exact_limit: float = EXACT_LIMIT
) -> tuple[np.ndarray, np.ndarray]:
    """Local index pairs (i in e1, j in e2) that are among each other's k nearest neighbours."""
    k1, k2 = min(k, e2.shape[0]), min(k, e1.shape[0])
    nn12 = knn_search(e2, k1, queries=e1, seed=seed, exact_limit=exact_limit)  # n1 x k1
    nn21 = knn_search(e1, k2, queries=e2, seed=seed, exact_limit=exact_limit)  # n2 x k2
    i = np.repeat(np.arange(e1.shape[0]), k1)
    j = nn12.ravel()
    mutual = (nn21[j] == i[:, None]).any(axis=1)
    return i[mutual], j[mutual]


def unit_pca_scores(x: np.ndarray | sp.spmatrix, n_pcs: int = 50, seed: int = 0) -> np.ndarray:
    """PCA scores of all cells, L2-normalised per cell: the cosine space in which the
    intra-batch KNN are searched and MNN seeds are filtered."""
    return _l2_normalise(pca_scores(x, n_pcs, seed=seed))


def batch_pair_seed(seed: int, a: int, b: int) -> int:
    """RNG seed of the randomised CCA of batches ``a < b``: reproducible, distinct per pair."""
    return seed + a * _PAIR_SEED_STRIDE + b


def filter_seeds(
    i: np.ndarray,
    j: np.ndarray,
    f1: np.ndarray,
    f2: np.ndarray,
    k_filter: int,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
) -> np.ndarray:
    """Mask of pairs whose second cell is among the ``k_filter`` nearest neighbours of the
    first cell in the other batch (Seurat's FilterAnchors), in the space ``f1``/``f2``."""
    if len(i) == 0:
        return np.zeros(0, dtype=bool)
    if k_filter >= f2.shape[0]:
        return np.ones(len(i), dtype=bool)
    return neighbour_ranks(f2, f1[i], j, seed=seed, exact_limit=exact_limit) < k_filter


def filter_size(k_filter: int, n_searched: int, share: float | None, k_anchor: int) -> int:
    """The filter's neighbourhood size in a batch of ``n_searched`` cells: Seurat's fixed
    ``k_filter``, or with ``share`` at most ``ceil(share * n_searched)`` cells (never fewer
    than ``k_anchor``), so that small batches are filtered as strictly as large ones."""
    if share is None:
        return k_filter
    return min(k_filter, max(k_anchor, math.ceil(share * n_searched)))


def find_seeds(
    x: np.ndarray | sp.spmatrix,
    batch: np.ndarray,
    *,
    k_anchor: int = 5,
    n_components: int = 30,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
    k_filter: int | None = 200,
    k_filter_share: float | None = None,
    unit_pcs: np.ndarray | None = None,
) -> np.ndarray:
    """Seed pairs (n_seeds x 2, int64 global indices, first < second, sorted, unique).

    ``x`` is the log-normalised HVG matrix (cells x genes), ``batch`` one label per cell.
    With ``k_filter`` an MNN pair is kept only if, as in Seurat's anchor filtering, its
    second cell is among the ``k_filter`` nearest cells of the other batch to its first
    cell, measured in ``unit_pcs`` (default: :func:`unit_pca_scores` of ``x``);
    ``k_filter_share`` caps that number per batch (:func:`filter_size`).
    """
    codes = batch_codes(batch)
    members = [np.flatnonzero(codes == b) for b in range(codes.max() + 1)]
    if len(members) < 2:
        raise ValueError("seeds need at least two batches")
    x = sp.csr_matrix(x) if sp.issparse(x) else np.asarray(x)
    if k_filter is not None and unit_pcs is None:
        unit_pcs = unit_pca_scores(x, seed=seed)
    found = []
    for a in range(len(members) - 1):
        z_a = scale_genes(x[members[a]])
        for b in range(a + 1, len(members)):
            ia, ib = members[a], members[b]
            if min(len(ia), len(ib)) < 2:
                log.warning("batches %d/%d: too few cells for CCA, no seeds", a, b)
                continue
            pair_seed = batch_pair_seed(seed, a, b)
            e1, e2 = cca_embeddings(z_a, scale_genes(x[ib]), n_components, seed=pair_seed)
            i, j = mutual_nearest_neighbours(e1, e2, k_anchor, seed=seed, exact_limit=exact_limit)
            n_mnn = len(i)
            k = None
            if k_filter is not None:
                k = filter_size(k_filter, len(ib), k_filter_share, k_anchor)
                keep = filter_seeds(i, j, unit_pcs[ia], unit_pcs[ib], k, seed, exact_limit)
                i, j = i[keep], j[keep]
            log.info(
                "batches %d-%d: %d MNN pairs, %d seeds after filtering (k_filter %s)",
                a,
                b,
                n_mnn,
                len(i),
                k,
            )
            found.append(np.stack([ia[i], ib[j]], axis=1))
    pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs, axis=0).astype(np.int64)


def intra_batch_knn(
    x: np.ndarray | sp.spmatrix | None,
    batch: np.ndarray,
    *,
    k: int = 10,
    n_pcs: int = 50,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
    unit_pcs: np.ndarray | None = None,
) -> np.ndarray:
    """Each cell's k nearest neighbours within its own batch (n_cells x k global indices).

    Distances are cosine distances on one PCA of all cells (``unit_pcs``, computed from
    ``x`` when not given; ``x`` may then be None). Cells of a batch with k or fewer cells
    repeat the neighbours they have (a lone cell gets itself).
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if unit_pcs is None and x is None:
        raise ValueError("intra_batch_knn needs the expression matrix x or unit_pcs")
    codes = batch_codes(batch)
    emb = unit_pca_scores(x, n_pcs, seed) if unit_pcs is None else unit_pcs
    out = np.empty((emb.shape[0], k), dtype=np.int64)
    for b in range(codes.max() + 1):
        idx = np.flatnonzero(codes == b)
        k_b = min(k, len(idx) - 1)
        if k_b < 1:
            out[idx] = idx[:, None]
            continue
        local = knn_search(emb[idx], k_b, seed=seed, exact_limit=exact_limit)
        out[idx] = idx[local[:, np.arange(k) % k_b]]
    return out


def build_pairs(
    x: np.ndarray | sp.spmatrix,
    batch: np.ndarray,
    params: ClaireParams,
    *,
    seeds: np.ndarray | None = None,
    knn: np.ndarray | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeds (n_seeds x 2) and intra-batch KNN (n_cells x k) of ``x`` under ``params``.

    ``seeds`` or ``knn``, when given, are used as they are (experiments such as injected
    false seeds); the shared cosine space is computed only if something still needs it.
    ``timings``, when given, receives ``seeds_seconds`` and ``knn_seconds``.
    """
    start = time.perf_counter()
    unit_pcs = None
    if (seeds is None and params.k_filter is not None) or knn is None:
        unit_pcs = unit_pca_scores(x, params.n_pcs, params.seed)
    if seeds is None:
        seeds = find_seeds(
            x,
            batch,
            k_anchor=params.k_anchor,
            n_components=params.n_cca,
            seed=params.seed,
            exact_limit=params.exact_knn_limit,
            k_filter=params.k_filter,
            k_filter_share=params.k_filter_share,
            unit_pcs=unit_pcs,
        )
    seeds_seconds = time.perf_counter() - start
    if len(seeds) == 0:
        raise ValueError("no mutual nearest neighbours between batches: nothing to align")
    tick = time.perf_counter()
    if knn is None:
        knn = intra_batch_knn(
            None,
            batch,
            k=params.knn,
            seed=params.seed,
            exact_limit=params.exact_knn_limit,
            unit_pcs=unit_pcs,
        )
    elif knn.shape[0] != x.shape[0]:
        raise ValueError(f"knn has {knn.shape[0]} rows, expected {x.shape[0]}")
    if timings is not None:
        timings["seeds_seconds"] = seeds_seconds
        timings["knn_seconds"] = time.perf_counter() - tick
    return seeds, knn
