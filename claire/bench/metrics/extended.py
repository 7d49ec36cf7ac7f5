"""Optional scIB metrics (iLISI, cLISI, graph connectivity, isolated labels, PCR).

They come from scib-metrics on the exact k-NN lists of the pairwise pass. The isolated
label score is scib-metrics' definition (mean rescaled cell-type silhouette of the labels
present in the fewest batches) evaluated on the silhouettes already computed for cASW,
so it costs no second pass over the pairwise distances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
