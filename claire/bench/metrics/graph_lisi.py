"""scib's graph LISI (``scib.metrics.lisi.lisi_graph_py``) on a connectivity matrix.

scib finds each cell's ``k`` nearest cells by shortest path on the k-NN graph, the length
of an edge being its UMAP connectivity (its compiled ``knn_graph.cpp``, a Dijkstra search
stopped after ``k`` cells), then runs the LISI perplexity search on these path lengths
(``compute_simpson_index_graph``: perplexity ``floor(k / 3)``, tolerance 1e-5, 50 tries).
A cell without edges is left out (NaN here); a cell that reaches fewer than ``k`` cells
has Simpson index 1 (LISI 1); a failed search (H = 0) gives Simpson index -1. Written out
here (numba, no subprocess, no scanpy) with the same rules.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp
from numba import njit


@njit(cache=True)
def _shortest_paths(indptr, indices, weights, k):
    """The k nearest other cells of every cell by path length (-1 / inf padded)."""
    n = indptr.size - 1
    idx = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf)
    best = np.full(n, np.inf)
    seen = np.full(n, -1, dtype=np.int64)  # source whose search reached the cell
    done = np.full(n, -1, dtype=np.int64)  # source whose search settled the cell
    for start in range(n):
        heap = [(0.0, start)]
        best[start] = 0.0
        seen[start] = start
        found = 0
        while heap and found < k:
            d, node = heapq.heappop(heap)
            if done[node] == start or d > best[node]:
                continue
            done[node] = start
            if node != start:
                idx[start, found] = node
                dist[start, found] = d
                found += 1
            for e in range(indptr[node], indptr[node + 1]):
                other = indices[e]
                nd = d + weights[e]
                if seen[other] != start or nd < best[other]:
                    seen[other] = start
                    best[other] = nd
                    heapq.heappush(heap, (nd, other))
    return idx, dist


@njit(cache=True)
def _simpson(idx, dist, empty, codes, n_codes, perplexity, tol=1e-5):
    """scib's ``compute_simpson_index_graph`` per cell (NaN for a cell without edges)."""
    n, k = idx.shape
    out = np.full(n, np.nan)
    log_u = np.log(perplexity)
    for i in range(n):
        if empty[i]:
            continue
        if idx[i, k - 1] < 0:  # fewer than k reachable cells
            out[i] = 1.0
            continue
        row = dist[i]
        beta, beta_min, beta_max = 1.0, -np.inf, np.inf
        h, p = _hbeta(row, beta)
        h_diff = h - log_u
        tries = 0
        while np.abs(h_diff) > tol and tries < 50:
            if h_diff > 0:
                beta_min = beta
                beta = beta * 2 if beta_max == np.inf else (beta + beta_max) / 2
            else:
                beta_max = beta
                beta = beta / 2 if beta_min == -np.inf else (beta + beta_min) / 2
            h, p = _hbeta(row, beta)
            h_diff = h - log_u
            tries += 1
        if h == 0:
            out[i] = -1.0
            continue
        per_code = np.zeros(n_codes)
        for j in range(k):
            per_code[codes[idx[i, j]]] += p[j]
        out[i] = np.sum(per_code * per_code)
    return out


@njit(cache=True)
def _hbeta(row, beta):
    p = np.exp(-row * beta)
    total = np.sum(p)
    if total == 0:
        return 0.0, np.zeros(row.size)
    return np.log(total) + beta * np.sum(row * p) / total, p / total


def graph_lisi(connectivities: sp.spmatrix, codes: np.ndarray, k: int = 90) -> np.ndarray:
    """Per-cell LISI of ``codes`` on the graph, as scib's ``lisi_graph_py`` (NaN: no edges)."""
    graph = sp.csr_matrix(connectivities, dtype=np.float64)
    graph.sum_duplicates()
    _, codes = np.unique(codes, return_inverse=True)
    idx, dist = _shortest_paths(
        graph.indptr.astype(np.int64), graph.indices.astype(np.int64), graph.data, k
    )
    empty = np.diff(graph.indptr) == 0
    simpson = _simpson(idx, dist, empty, codes.astype(np.int64), codes.max() + 1, float(k // 3))
    return 1.0 / simpson
