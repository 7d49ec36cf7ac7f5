"""Optional scIB metrics (iLISI, cLISI, graph connectivity, isolated labels, PCR).

They come from scib-metrics on the exact k-NN lists of the pairwise pass. The isolated
label score is scib-metrics' definition (mean rescaled cell-type silhouette of the labels
present in the fewest batches) evaluated on the silhouettes already computed for cASW,
so it costs no second pass over the pairwise distances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from claire.bench.metrics.graph_lisi import graph_lisi


def _neighbors(knn_indices: np.ndarray, knn_distances: np.ndarray):
    from scib_metrics.nearest_neighbors import NeighborsResults

    return NeighborsResults(indices=knn_indices, distances=knn_distances)


def ilisi(knn_indices: np.ndarray, knn_distances: np.ndarray, batches: np.ndarray) -> float:
    """Scaled median iLISI (scib-metrics ``ilisi_knn``, perplexity k / 3)."""
    from scib_metrics import ilisi_knn

    return float(ilisi_knn(_neighbors(knn_indices, knn_distances), batches))


def clisi(knn_indices: np.ndarray, knn_distances: np.ndarray, labels: np.ndarray) -> float:
    """Scaled median cLISI (scib-metrics ``clisi_knn``, perplexity k / 3)."""
    from scib_metrics import clisi_knn

    return float(clisi_knn(_neighbors(knn_indices, knn_distances), labels))


def graph_connectivity(
    knn_indices: np.ndarray, knn_distances: np.ndarray, labels: np.ndarray
) -> float:
    """Mean share of each cell type in its largest connected k-NN component (scib-metrics)."""
    from scib_metrics import graph_connectivity as scib_graph_connectivity

    return float(scib_graph_connectivity(_neighbors(knn_indices, knn_distances), labels))


def isolated_label_asw(
    label_silhouettes: np.ndarray, labels: np.ndarray, batches: np.ndarray
) -> float:
    """scib-metrics ``isolated_labels`` from precomputed per-cell label silhouettes.

    Isolated labels are those present in the minimum number of batches; the score is
    the mean over them of the mean rescaled silhouette (s + 1) / 2 of their cells.
    """
    pairs = pd.DataFrame({"label": labels, "batch": batches}).drop_duplicates()
    batches_per_label = pairs.groupby("label")["batch"].count()
    isolated = batches_per_label.index[batches_per_label <= batches_per_label.min()]
    rescaled = (label_silhouettes + 1.0) / 2.0
    return float(np.mean([rescaled[labels == label].mean() for label in isolated]))


def pcr_comparison(x_pre: np.ndarray, embedding: np.ndarray, batches: np.ndarray) -> float:
    """Relative drop of the batch's principal-component-regression R^2 (scib-metrics, 50 PCs)."""
    from scib_metrics import pcr_comparison as scib_pcr_comparison

    if x_pre.shape[0] != embedding.shape[0]:
        raise ValueError(
            f"PCR needs the unintegrated data of the same cells: {x_pre.shape[0]} rows "
            f"for {embedding.shape[0]} cells"
        )
    n_components = min(50, *x_pre.shape, *embedding.shape)
    return float(
        scib_pcr_comparison(
            np.asarray(x_pre, dtype=np.float32),
            np.asarray(embedding, dtype=np.float32),
            batches,
            categorical=True,
            n_components=n_components,
        )
    )


def bras(embedding: np.ndarray, labels: np.ndarray, batches: np.ndarray) -> float:
    """BRAS (Rautenstrauch & Ohler 2025): scib-metrics ``bras`` (cosine, ``mean_other``).

    Within each cell type present in several batches (and not one cell per batch), a cell's
    silhouette compares its mean cosine distance to its own batch with its mean distance to
    all cells of the other batches; the score is 1 - |s| averaged per type, then over
    types. Cosine distance is linear in the normalised vectors, so each cell's summed
    distance to a batch is ``count - u . sum(u)``: O(n d), no pairwise pass.
    """
    x = np.asarray(embedding, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    u = x / np.where(norms > 0, norms, 1.0)
    per_type = []
    for label in np.unique(labels):
        cells = np.flatnonzero(labels == label)
        codes, own = np.unique(batches[cells], return_inverse=True)
        if codes.size == 1 or codes.size == cells.size:
            continue
        counts = np.bincount(own).astype(np.float64)
        sums = np.zeros((codes.size, u.shape[1]))
        np.add.at(sums, own, u[cells])
        dist = np.clip(counts[None, :] - u[cells] @ sums.T, 0.0, None)  # (cells, batches)
        rows = np.arange(cells.size)
        own_dist = dist[rows, own]
        with np.errstate(divide="ignore", invalid="ignore"):
            intra = own_dist / (counts[own] - 1)
            inter = (dist.sum(axis=1) - own_dist) / (cells.size - counts[own])
            sil = (inter - intra) / np.maximum(intra, inter)
        sil = np.nan_to_num(sil, nan=0.0, posinf=0.0, neginf=0.0)
        sil[counts[own] == 1] = 0.0
        per_type.append(float(np.mean(1.0 - np.abs(sil))))
    return float(np.mean(per_type)) if per_type else float("nan")


def cilisi(
    connectivities: sp.spmatrix, labels: np.ndarray, batches: np.ndarray, k: int = 90
) -> float:
    """Cell-type iLISI (Rautenstrauch & Ohler 2025), as in their reproducibility code.

    ``connectivities`` is the 15-NN UMAP graph of all cells (``scanpy.pp.neighbors``). Per
    cell type, scib's graph iLISI (``ilisi_graph(type_="knn")``, k0 = ``k``) on the type's
    part of that graph: the median per-cell LISI (:func:`graph_lisi`; cells without an edge
    inside the type left out, cells reaching fewer than ``k`` cells count 1), scaled by the
    batches present in the type, ``(median - 1) / (n_batches - 1)``. CiLISI is the sum of
    type size x type score over all cells; a type in one batch (score undefined) adds 0.
    """
    graph = sp.csr_matrix(connectivities)
    total = 0.0
    for label in np.unique(labels):
        cells = np.flatnonzero(labels == label)
        n_batches = np.unique(batches[cells]).size
        if n_batches < 2:
            continue
        lisi = graph_lisi(graph[cells][:, cells], batches[cells], k)
        if np.all(np.isnan(lisi)):
            continue
        total += cells.size * (np.nanmedian(lisi) - 1) / (n_batches - 1)
    return float(total / len(labels))
