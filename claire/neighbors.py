"""k-nearest-neighbour search: exact and blocked below a size limit, approximate above it.

Exact search computes squared Euclidean distances block by block with BLAS, so memory
stays at one (block x n_data) tile, never a full query x data matrix. Above
``exact_limit`` distance evaluations it switches to NN-descent (pynndescent), whose
cost grows about linearly with the number of cells; below it exact search is faster
than pynndescent's just-in-time compilation.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)

EXACT_LIMIT = 2e9  # query x data distance evaluations up to which the search is exact
_TILE_FLOATS = 2**23  # ~32 MiB distance tile


def knn_search(
    data: np.ndarray,
    k: int,
    queries: np.ndarray | None = None,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
) -> np.ndarray:
    """Indices (n_queries x k, int64) of the k nearest rows of ``data`` (Euclidean).

    Without ``queries`` the data are queried against themselves and each point's own
    index is excluded from its neighbours. Neighbours are sorted by distance.
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    self_search = queries is None
    queries = data if self_search else np.ascontiguousarray(queries, dtype=np.float32)
    available = data.shape[0] - int(self_search)
    if not 1 <= k <= available:
        raise ValueError(f"k={k} must lie in [1, {available}] for {data.shape[0]} data points")
    if data.shape[1] != queries.shape[1]:
        raise ValueError(f"dimension mismatch: data {data.shape}, queries {queries.shape}")
    n_pairs = float(data.shape[0]) * float(queries.shape[0])
    if n_pairs <= exact_limit:
        return _exact(data, queries, k, self_search)
    return _approximate(data, queries, k, self_search, seed)


def _exact(data: np.ndarray, queries: np.ndarray, k: int, self_search: bool) -> np.ndarray:
    x = torch.from_numpy(data)
    sq_norms = (x * x).sum(dim=1)
    k_search = k + int(self_search)
    block = max(1, _TILE_FLOATS // max(1, data.shape[0]))
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], block):
        q = torch.from_numpy(queries[start : start + block])
        dist = sq_norms[None, :] - 2.0 * (q @ x.T)  # |q|^2 is constant per row
        idx = torch.topk(dist, k_search, dim=1, largest=False, sorted=True).indices.numpy()
        if self_search:
            idx = _drop_self(idx, np.arange(start, start + idx.shape[0]))
        out[start : start + idx.shape[0]] = idx
    return out


def _drop_self(idx: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Remove each row's own index (or its last neighbour if the row lacks it)."""
    is_self = idx == own[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    return idx[~is_self].reshape(idx.shape[0], idx.shape[1] - 1)


def _approximate(
    data: np.ndarray, queries: np.ndarray, k: int, self_search: bool, seed: int
) -> np.ndarray:
    from pynndescent import NNDescent

    log.info("approximate kNN (NN-descent) on %d x %d points", queries.shape[0], data.shape[0])
    k_search = k + int(self_search)
    index = NNDescent(data, n_neighbors=max(k_search, 15), random_state=seed, low_memory=True)
    if self_search:
        idx = index.neighbor_graph[0][:, :k_search]
        return _drop_self(idx, np.arange(data.shape[0])).astype(np.int64)
    idx, _ = index.query(queries, k=k)
    return idx.astype(np.int64)
