"""UMAP connectivities of an exact k-NN graph, as ``scanpy.pp.neighbors`` makes them.

The same computation as ``umap.umap_.fuzzy_simplicial_set`` with precomputed neighbours
(``set_op_mix_ratio=1``, ``local_connectivity=1``): per cell, ``rho`` = distance to the
nearest other cell and ``sigma`` from a float32 binary search so that the memberships
``exp(-(d - rho) / sigma)`` of the k - 1 neighbours sum to log2(k); then the fuzzy union
``A + A.T - A * A.T``. The kernels repeat umap's float32 arithmetic step by step, so the
matrix (hence the graph Louvain clusters) is the same; tests compare them on ordinary
and degenerate (duplicated) embeddings. Written out here because importing umap costs
every metrics job 6-9 CPU seconds (pynndescent compiles its numba kernels on import)
while these kernels are cached after their first compilation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange, types

_SMOOTH_K_TOLERANCE = 1e-5
_MIN_K_DIST_SCALE = 1e-3
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# exp(-x) of a float32 x underflows to 0 near x = 103.3; an argument this close to it
# (0.9x to 1.1x) could round either way, and the caller then asks umap itself.
_UNDERFLOW_BAND = (93.0, 114.0)


@njit(
    cache=True,
    parallel=True,
    locals={"psum": types.float32, "lo": types.float32, "mid": types.float32, "hi": types.float32},
)
def _smooth_knn_dist(distances, k, n_iter=64):
    """sigma and rho of every cell (umap's ``smooth_knn_dist``, local_connectivity 1)."""
    target = np.log2(k)
    rho = np.zeros(distances.shape[0], dtype=np.float32)
    result = np.zeros(distances.shape[0], dtype=np.float32)
    mean_distances = np.mean(distances)
    for i in prange(distances.shape[0]):
        lo = 0.0
        hi = _FLOAT32_MAX
        mid = 1.0
        ith_distances = distances[i]
        for j in range(ith_distances.shape[0]):
            if ith_distances[j] > 0.0:
                rho[i] = ith_distances[j]
                break
        for _ in range(n_iter):
            psum = 0.0
            for j in range(1, distances.shape[1]):
                d = distances[i, j] - rho[i]
                if d > 0:
                    psum += np.exp(-(d / mid))
                else:
                    psum += 1.0
            if np.fabs(psum - target) < _SMOOTH_K_TOLERANCE:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2.0
            else:
                lo = mid
                if hi >= _FLOAT32_MAX:
                    mid *= 2
                else:
                    mid = (lo + hi) / 2.0
        result[i] = mid
        if rho[i] > 0.0:
            mean_ith_distances = np.mean(ith_distances)
            if result[i] < _MIN_K_DIST_SCALE * mean_ith_distances:
                result[i] = _MIN_K_DIST_SCALE * mean_ith_distances
        elif result[i] < _MIN_K_DIST_SCALE * mean_distances:
            result[i] = _MIN_K_DIST_SCALE * mean_distances
    return result, rho


@njit(
    cache=True,
    parallel=True,
    locals={
        "knn_dists": types.float32[:, ::1],
        "sigmas": types.float32[::1],
        "rhos": types.float32[::1],
        "val": types.float32,
    },
)
def _membership_strengths(knn_indices, knn_dists, sigmas, rhos, band_lo, band_hi):
    """COO rows, columns and memberships, and how many exp arguments lie in the band."""
    n, k = knn_indices.shape
    rows = np.zeros(knn_indices.size, dtype=np.int32)
    cols = np.zeros(knn_indices.size, dtype=np.int32)
    vals = np.zeros(knn_indices.size, dtype=np.float32)
    ambiguous = 0
    for i in range(n):
        for j in range(k):
            if knn_indices[i, j] == -1:
                continue
            if knn_indices[i, j] == i:
                val = 0.0
            elif knn_dists[i, j] - rhos[i] <= 0.0 or sigmas[i] == 0.0:
                val = 1.0
            else:
                x = (knn_dists[i, j] - rhos[i]) / sigmas[i]
                if band_lo < x < band_hi:
                    ambiguous += 1
                val = np.exp(-x)
            rows[i * k + j] = i
            cols[i * k + j] = knn_indices[i, j]
            vals[i * k + j] = val
    return rows, cols, vals, ambiguous


def _umap_connectivities(knn_indices: np.ndarray, knn_distances: np.ndarray) -> sp.csr_matrix:
    """umap's own ``fuzzy_simplicial_set`` (the slow import), for the ambiguous case."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Tensorflow not installed")
        from umap.umap_ import fuzzy_simplicial_set

    n, k = knn_indices.shape
    connectivities, _, _ = fuzzy_simplicial_set(
        sp.coo_matrix((n, 1)),
        k,
        None,
        None,
        knn_indices=knn_indices,
        knn_dists=knn_distances,
        set_op_mix_ratio=1.0,
        local_connectivity=1.0,
    )
    return connectivities.tocsr()


def knn_connectivities(knn_indices: np.ndarray, knn_distances: np.ndarray) -> sp.csr_matrix:
    """UMAP fuzzy-union connectivities of a k-NN graph (CSR, float32, sorted indices).

    Column 0 of the inputs must be the cell itself at distance 0 (as ``scanpy.pp.neighbors``
    counts it); the result equals umap's ``fuzzy_simplicial_set`` with these neighbours.
    """
    n, k = knn_indices.shape
    indices = np.ascontiguousarray(knn_indices, dtype=np.int64)
    dists = np.ascontiguousarray(knn_distances, dtype=np.float32)
    sigmas, rhos = _smooth_knn_dist(dists, float(k))
    rows, cols, vals, ambiguous = _membership_strengths(
        indices, dists, sigmas, rhos, *_UNDERFLOW_BAND
    )
    if ambiguous:
        # an exp(-x) at the edge of float32 underflow decides whether an edge exists;
        # let umap's own kernel decide it
        return _umap_connectivities(knn_indices, knn_distances)
    result = sp.coo_matrix((vals, (rows, cols)), shape=(n, n))
    result.eliminate_zeros()
    transpose = result.transpose()
    product = result.multiply(transpose)
    result = 1.0 * (result + transpose - product) + 0.0 * product
    result.eliminate_zeros()
    return result.tocsr()
