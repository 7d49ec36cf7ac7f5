"""NMI and ARI after a Louvain resolution sweep on the k-NN graph (paper section 3.2).

The graph is scanpy's: UMAP connectivities of the k nearest neighbours (the cell itself
included, as ``scanpy.pp.neighbors`` counts it). Each resolution is clustered exactly
like ``scanpy.tl.louvain`` with its defaults (the ``louvain`` package of Traag, the
RBConfiguration partition, the directed unweighted graph of the connectivities'
non-zeros, ``random_state`` as seed), which is what scib's ``opt_louvain`` runs. The
clustering with the highest NMI is kept (the first one on ties) and ARI is taken at it.
"""

from __future__ import annotations

import logging
import multiprocessing
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

log = logging.getLogger(__name__)

PAPER_RESOLUTIONS = tuple(round(0.1 * i, 1) for i in range(1, 21))  # 0.1, 0.2, ..., 2.0
_MIN_CELLS_FOR_PROCESSES = 5_000  # below this, forking workers costs more than it saves


@dataclass(frozen=True)
class SweepResult:
    """The kept clustering and the score of every resolution tried."""

    nmi: float
    ari: float
    resolution: float
    clusters: np.ndarray
    table: pd.DataFrame  # resolution, nmi, ari, n_clusters


def _graph(n: int, sources: np.ndarray, targets: np.ndarray):
    """The directed igraph graph scanpy's louvain builds (``get_igraph_from_adjacency``)."""
    import igraph as ig

    graph = ig.Graph(directed=True)
    graph.add_vertices(n)
    graph.add_edges(list(zip(sources.tolist(), targets.tolist(), strict=True)))
    return graph


def _louvain(graph, resolution: float, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import louvain

    partition = louvain.find_partition(
        graph,
        louvain.RBConfigurationVertexPartition,
        seed=seed,
        resolution_parameter=resolution,
    )
    return np.asarray(partition.membership)


def _score(labels: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    nmi = normalized_mutual_info_score(labels, clusters, average_method="arithmetic")
    return float(nmi), float(adjusted_rand_score(labels, clusters))


# The graph and labels of the running sweep; forked workers inherit them (no pickling).
_SWEEP: dict = {}


def _cluster_and_score(resolution: float, seed: int) -> tuple[np.ndarray, float, float]:
    clusters = _louvain(_SWEEP["graph"], resolution, seed)
    return (clusters, *_score(_SWEEP["labels"], clusters))


def louvain_sweep(
    connectivities: sp.spmatrix,
    labels: np.ndarray,
    resolutions: Sequence[float] = PAPER_RESOLUTIONS,
    seed: int = 0,
    n_jobs: int = 1,
) -> SweepResult:
    """Cluster at every resolution, keep the highest-NMI clustering, report ARI at it.

    ``n_jobs`` > 1 spreads the resolutions over forked worker processes (large graphs
    only, and only where the ``fork`` start method exists).
    """
    if len(resolutions) == 0:
        raise ValueError("at least one Louvain resolution is needed")
    n = connectivities.shape[0]
    sources, targets = connectivities.nonzero()
    use_processes = (
        n_jobs > 1
        and n >= _MIN_CELLS_FOR_PROCESSES
        and "fork" in multiprocessing.get_all_start_methods()
    )
    _SWEEP.update(graph=_graph(n, sources, targets), labels=np.asarray(labels))
    try:
        if use_processes:
            with ProcessPoolExecutor(
                max_workers=min(n_jobs, len(resolutions)),
                mp_context=multiprocessing.get_context("fork"),
            ) as pool:
                seeds = [seed] * len(resolutions)
                results = list(pool.map(_cluster_and_score, resolutions, seeds))
        else:
            results = [_cluster_and_score(res, seed) for res in resolutions]
    finally:
        _SWEEP.clear()

    table = pd.DataFrame(
        {
            "resolution": list(resolutions),
            "nmi": [r[1] for r in results],
            "ari": [r[2] for r in results],
            "n_clusters": [int(np.unique(r[0]).size) for r in results],
        }
    )
    best = int(np.argmax(table["nmi"].to_numpy()))
    log.info(
        "Louvain sweep: best NMI %.4f at resolution %s (%d clusters)",
        table["nmi"][best],
        resolutions[best],
        table["n_clusters"][best],
    )
    return SweepResult(
        nmi=float(table["nmi"][best]),
        ari=float(table["ari"][best]),
        resolution=float(resolutions[best]),
        clusters=results[best][0],
        table=table,
    )
