"""k-nearest-neighbour search: exact below a size limit, inverted-file (IVF) above it.

Exact search computes squared Euclidean distances block by block with BLAS, so memory
stays at one (block x n_data) tile, never a full query x data matrix. Its cost grows
with n_queries x n_data, so above ``exact_limit`` distance evaluations the search is
approximate: the data are partitioned by k-means into clusters of about
``IVF_CLUSTER_SIZE`` points, each query is compared exactly with the points of the
``IVF_PROBES`` clusters whose centroids are nearest to it, and the cost per query stays
about constant as the data grow. Everything is seeded torch code (no JIT compilation), so
results are reproducible and the first call is as fast as the next.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)

EXACT_LIMIT = 5e7  # query x data distance evaluations up to which the search is exact
IVF_CLUSTER_SIZE = 512  # mean points per k-means cluster of the inverted file
IVF_PROBES = 8  # clusters searched per query cluster
KMEANS_ITERATIONS = 10
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
    x, q = torch.from_numpy(data), torch.from_numpy(queries)
    n_pairs = float(data.shape[0]) * float(queries.shape[0])
    if n_pairs <= exact_limit or data.shape[0] < 4 * IVF_CLUSTER_SIZE:
        idx = exact_knn(x, q, k + int(self_search))
    else:
        idx = ivf_knn(x, q, k + int(self_search), seed)
    if self_search:
        idx = _drop_self(idx, np.arange(data.shape[0]))
    return idx


def exact_knn(x: torch.Tensor, q: torch.Tensor, k: int) -> np.ndarray:
    """Exact k nearest rows of ``x`` for every row of ``q``, block by block."""
    sq_norms = (x * x).sum(dim=1)
    block = max(1, _TILE_FLOATS // max(1, x.shape[0]))
    out = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], block):
        # |q|^2 is constant per row: rank by |x|^2 - 2 q.x
        dist = torch.addmm(sq_norms[None, :], q[start : start + block], x.T, alpha=-2.0)
        out[start : start + dist.shape[0]] = torch.topk(dist, k, dim=1, largest=False).indices
    return out


def kmeans(x: torch.Tensor, n_clusters: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means (seeded random init): returns (centroids, label of each row)."""
    generator = torch.Generator().manual_seed(seed)
    centroids = x[torch.randperm(x.shape[0], generator=generator)[:n_clusters]].clone()
    labels = torch.zeros(x.shape[0], dtype=torch.long)
    for _ in range(KMEANS_ITERATIONS):
        labels = torch.from_numpy(exact_knn(centroids, x, 1)[:, 0])
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=n_clusters)
        filled = counts > 0  # an emptied cluster keeps its previous centroid
        centroids[filled] = sums[filled] / counts[filled, None].to(x.dtype)
    return centroids, torch.from_numpy(exact_knn(centroids, x, 1)[:, 0])


def ivf_knn(x: torch.Tensor, q: torch.Tensor, k: int, seed: int = 0) -> np.ndarray:
    """Approximate k nearest rows of ``x`` for every row of ``q`` via an inverted file.

    Each query is compared exactly with the members of its ``IVF_PROBES`` nearest
    clusters (more when those hold fewer than k points); the per-cluster candidates are
    merged by distance.
    """
    n_clusters = max(1, x.shape[0] // IVF_CLUSTER_SIZE)
    log.info("IVF kNN: %d queries, %d points in %d clusters", q.shape[0], x.shape[0], n_clusters)
    centroids, labels = kmeans(x, n_clusters, seed)
    members = _members(labels, n_clusters)
    smallest_first = np.sort([len(m) for m in members])
    n_probe = max(IVF_PROBES, int(np.searchsorted(np.cumsum(smallest_first), k)) + 1)
    n_probe = min(n_probe, n_clusters)
    sq_norms = (x * x).sum(dim=1)
    chunk = max(256, _TILE_FLOATS // (n_probe * k))
    out = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], chunk):
        block = q[start : start + chunk]
        probes = torch.from_numpy(exact_knn(centroids, block, n_probe))
        out[start : start + block.shape[0]] = _search_probes(x, sq_norms, members, block, probes, k)
    return out


def _search_probes(
    x: torch.Tensor,
    sq_norms: torch.Tensor,
    members: list[torch.Tensor],
    queries: torch.Tensor,
    probes: torch.Tensor,
    k: int,
) -> np.ndarray:
    """k nearest candidates of each query among the members of its probed clusters."""
    n_q, n_probe = probes.shape
    best_d = torch.full((n_q, n_probe, k), torch.inf)
    best_i = torch.zeros((n_q, n_probe, k), dtype=torch.long)
    flat = probes.reshape(-1)
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=len(members)).tolist()
    for cluster, pairs in enumerate(torch.split(order, counts)):
        cand = members[cluster]
        if len(pairs) == 0 or len(cand) == 0:
            continue
        rows, slots = pairs // n_probe, pairs % n_probe
        dist = torch.addmm(sq_norms[cand][None, :], queries[rows], x[cand].T, alpha=-2.0)
        top = torch.topk(dist, min(k, len(cand)), dim=1, largest=False)
        best_d[rows, slots, : top.values.shape[1]] = top.values
        best_i[rows, slots, : top.values.shape[1]] = cand[top.indices]
    merged = torch.topk(best_d.reshape(n_q, -1), k, dim=1, largest=False).indices
    return best_i.reshape(n_q, -1).gather(1, merged).numpy()


def neighbour_ranks(
    data: np.ndarray,
    queries: np.ndarray,
    targets: np.ndarray,
    seed: int = 0,
    exact_limit: float = EXACT_LIMIT,
) -> np.ndarray:
    """For each pair p, how many rows of ``data`` are strictly closer to ``queries[p]``
    than ``data[targets[p]]`` is (0 = the target is the nearest).

    Above ``exact_limit`` only the members of the query's ``IVF_PROBES`` nearest
    clusters are counted, and a target outside them gets rank ``len(data)`` (far).
    """
    x = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    targets = torch.as_tensor(np.asarray(targets, dtype=np.int64))
    if len(targets) != q.shape[0]:
        raise ValueError(f"{len(targets)} targets for {q.shape[0]} queries")
    sq_norms = (x * x).sum(dim=1)
    # squared distance minus |q|^2, the same offset for every point of a query
    threshold = sq_norms[targets] - 2.0 * (q * x[targets]).sum(dim=1)
    if float(x.shape[0]) * q.shape[0] <= exact_limit or x.shape[0] < 4 * IVF_CLUSTER_SIZE:
        ranks = torch.empty(q.shape[0], dtype=torch.long)
        block = max(1, _TILE_FLOATS // max(1, x.shape[0]))
        for start in range(0, q.shape[0], block):
            dist = torch.addmm(sq_norms[None, :], q[start : start + block], x.T, alpha=-2.0)
            ranks[start : start + dist.shape[0]] = (
                dist < threshold[start : start + dist.shape[0], None]
            ).sum(dim=1)
        return ranks.numpy()
    n_clusters = max(1, x.shape[0] // IVF_CLUSTER_SIZE)
    centroids, labels = kmeans(x, n_clusters, seed)
    members = _members(labels, n_clusters)
    probes = torch.from_numpy(exact_knn(centroids, q, min(IVF_PROBES, n_clusters)))
    counts = torch.zeros(q.shape[0], dtype=torch.long)
    found = torch.zeros(q.shape[0], dtype=torch.bool)
    flat = probes.reshape(-1)
    order = torch.argsort(flat, stable=True)
    per_cluster = torch.bincount(flat, minlength=n_clusters).tolist()
    for cluster, pairs in enumerate(torch.split(order, per_cluster)):
        cand = members[cluster]
        if len(pairs) == 0 or len(cand) == 0:
            continue
        rows = pairs // probes.shape[1]
        dist = torch.addmm(sq_norms[cand][None, :], q[rows], x[cand].T, alpha=-2.0)
        counts[rows] += (dist < threshold[rows, None]).sum(dim=1)
        found[rows] |= labels[targets[rows]] == cluster
    return torch.where(found, counts, torch.full_like(counts, x.shape[0])).numpy()


def _members(labels: torch.Tensor, n_clusters: int) -> list[torch.Tensor]:
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels, minlength=n_clusters).tolist()
    return list(torch.split(order, counts))


def _drop_self(idx: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Remove each row's own index (or its last neighbour if the row lacks it)."""
    is_self = idx == own[:, None]
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    return idx[~is_self].reshape(idx.shape[0], idx.shape[1] - 1)
