"""Downstream analyses of the CLAIRE paper (Supplementary Note S2) scored as metrics.

Label transfer follows the CLAIRE authors' protocol (``moco/knn_classifier.py`` of
CSUBioGroup/CLAIRE-release): the embedding is L2-normalised, each query cell takes the
k = 10 reference cells of highest inner product (cosine similarity) and their majority
label (ties: the label that sorts first, as ``np.unique`` + ``argsort`` do there). Each
batch in turn is the query and all other batches the reference (two batches: both
directions); accuracy and macro-F1 are computed over the query cells whose type the
reference has, then averaged over the batches. The authors search k + 1 neighbours and
drop the first, which discards the nearest reference cell (a leftover of self-search):
``drop_first=True`` reproduces that; it is off by default.

Trajectory conservation is scib's ``trajectory_conservation`` (diffusion pseudotime from
the root scib's ``get_root`` chooses, on the integrated k-NN graph restricted to the
lineage's cells; Spearman correlation with the true pseudotime rescaled to [0, 1]),
computed once per lineage (one pseudotime column each, NaN off the lineage) and averaged.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit, prange
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import f1_score

log = logging.getLogger(__name__)

LABEL_TRANSFER_K = 10


@dataclass(frozen=True)
class LabelTransfer:
    """Mean accuracy and macro-F1 over query batches, and each batch's values."""

    accuracy: float
    macro_f1: float
    per_batch: pd.DataFrame  # batch, n_query, n_scored, accuracy, macro_f1


def _normalised(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@njit(cache=True, parallel=True)
def _top_k_columns(sim: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - numba
    """Per row, the columns of the k largest values, largest first, ties by lower column.

    The same as the first k columns of a stable descending argsort of each row, in one
    pass over the row (an insertion-sorted top-k list) instead of a partition.
    """
    n_rows, n_cols = sim.shape
    out = np.empty((n_rows, k), dtype=np.int64)
    for i in prange(n_rows):
        values = np.empty(k, dtype=sim.dtype)
        columns = np.empty(k, dtype=np.int64)
        filled = 0
        for j in range(n_cols):
            value = sim[i, j]
            if filled < k:
                pos = filled
                filled += 1
            elif value > values[k - 1]:
                pos = k - 1
            else:
                continue
            while pos > 0 and values[pos - 1] < value:
                values[pos] = values[pos - 1]
                columns[pos] = columns[pos - 1]
                pos -= 1
            values[pos] = value
            columns[pos] = j
        out[i] = columns
    return out


def knn_vote(
    reference: np.ndarray,
    query: np.ndarray,
    reference_labels: np.ndarray,
    k: int = LABEL_TRANSFER_K,
    drop_first: bool = False,
    max_block: int = 1 << 24,
) -> np.ndarray:
    """Majority label of each query row's k nearest reference rows by inner product.

    Rows are expected L2-normalised. ``reference_labels`` are integer codes; ties go to the
    smallest code, and among equally similar reference rows the earlier one is nearer.
    ``drop_first``: search k + 1 and drop the nearest (the authors' quirk). Similarities are
    computed in blocks of at most ``max_block`` entries (query rows x reference rows).
    """
    n_ref = reference.shape[0]
    search = min(k + int(drop_first), n_ref)
    n_labels = int(reference_labels.max()) + 1
    out = np.empty(query.shape[0], dtype=np.int64)
    chunk = max(1, max_block // max(n_ref, 1))
    for start in range(0, query.shape[0], chunk):
        top = _top_k_columns(query[start : start + chunk] @ reference.T, search)
        if drop_first and top.shape[1] > 1:
            top = top[:, 1:]
        votes = reference_labels[top]
        counts = np.zeros((votes.shape[0], n_labels), dtype=np.int64)
        np.add.at(counts, (np.arange(votes.shape[0])[:, None], votes), 1)
        out[start : start + chunk] = counts.argmax(axis=1)
    return out


def label_transfer(
    embedding: np.ndarray,
    batches: np.ndarray,
    labels: np.ndarray,
    k: int = LABEL_TRANSFER_K,
    drop_first: bool = False,
) -> LabelTransfer:
    """Leave-one-batch-out k-NN label transfer (integer batch and label codes)."""
    x = _normalised(embedding)
    rows = []
    for batch in np.unique(batches):
        query = batches == batch
        ref_labels = labels[~query]
        shared = np.isin(labels[query], np.unique(ref_labels))
        row = {"batch": int(batch), "n_query": int(query.sum()), "n_scored": int(shared.sum())}
        if shared.any():
            truth = labels[query][shared]
            predicted = knn_vote(x[~query], x[query][shared], ref_labels, k, drop_first)
            row["accuracy"] = float(np.mean(predicted == truth))
            row["macro_f1"] = float(
                f1_score(
                    truth, predicted, labels=np.unique(truth), average="macro", zero_division=0
                )
            )
        else:
            row["accuracy"] = row["macro_f1"] = np.nan
        rows.append(row)
    per_batch = pd.DataFrame(rows, columns=["batch", "n_query", "n_scored", "accuracy", "macro_f1"])
    if per_batch["accuracy"].isna().all():
        log.warning("label transfer undefined: no query batch shares a cell type with the rest")
    return LabelTransfer(
        accuracy=float(per_batch["accuracy"].mean()),
        macro_f1=float(per_batch["macro_f1"].mean()),
        per_batch=per_batch,
    )


# ---- trajectory conservation ----------------------------------------------------------------


def _neighbors_anndata(
    connectivities: sp.spmatrix, distances: sp.spmatrix, names: pd.Index, n_neighbors: int
):
    import anndata as ad

    adata = ad.AnnData(obs=pd.DataFrame(index=names))
    adata.obsp["connectivities"] = sp.csr_matrix(connectivities)
    adata.obsp["distances"] = sp.csr_matrix(distances)
    adata.uns["neighbors"] = {
        "connectivities_key": "connectivities",
        "distances_key": "distances",
        "params": {"n_neighbors": n_neighbors, "method": "umap"},
    }
    return adata


def _root_and_dpt(
    connectivities: sp.csr_matrix,
    distances: sp.csr_matrix,
    labels: pd.Series,
    pseudotime: pd.Series,
    n_neighbors: int,
    dpt_dim: int = 3,
) -> pd.Series | None:
    """scib's ``get_root`` then ``sc.tl.dpt`` on one lineage's cells; None without a root."""
    import scanpy as sc

    _, component = connected_components(connectivities, directed=False, return_labels=True)
    component = pd.Series(component, index=labels.index)
    largest = component == component.value_counts().idxmax()
    start_type = pseudotime.groupby(labels, observed=False).mean().idxmin()
    candidates = labels.index[(labels == start_type).to_numpy() & largest.to_numpy()]
    if len(candidates) == 0:
        return None
    keep = np.flatnonzero(largest.to_numpy())
    adata = _neighbors_anndata(
        connectivities[keep][:, keep], distances[keep][:, keep], labels.index[keep], n_neighbors
    )
    root_rows = [adata.obs_names.get_loc(c) for c in candidates]
    sc.tl.diffmap(adata)
    votes = np.zeros(len(root_rows))
    for dim in range(dpt_dim):
        values = adata.obsm["X_diffmap"][:, dim]
        chosen = values[root_rows]
        opt = np.argmin if chosen.mean() < values.mean() else np.argmax
        votes[opt(chosen)] += 1
    adata.uns["iroot"] = root_rows[int(np.argmax(votes))]
    sc.tl.dpt(adata)
    dpt = adata.obs["dpt_pseudotime"].copy()
    dpt[dpt > 1] = 0.0
    return dpt.reindex(labels.index).fillna(0.0)


def lineage_conservation(
    connectivities: sp.spmatrix,
    distances: sp.spmatrix,
    labels: pd.Series,
    pseudotime: pd.Series,
    n_neighbors: int,
) -> float:
    """scib ``trajectory_conservation`` (batch_key None) of one lineage.

    ``labels``/``pseudotime`` are indexed by cell name in graph order; cells with NaN
    pseudotime are off the lineage and left out (with their graph edges).
    """
    on = pseudotime.notna().to_numpy()
    rows = np.flatnonzero(on)
    conn = sp.csr_matrix(connectivities)[rows][:, rows]
    dist = sp.csr_matrix(distances)[rows][:, rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dpt = _root_and_dpt(conn, dist, labels[on], pseudotime[on], n_neighbors)
    if dpt is None:
        log.warning("trajectory conservation: no root cell in the largest component, score 0")
        return 0.0
    correlation = pseudotime[on].corr(dpt, method="spearman")
    return float((correlation + 1) / 2)


def trajectory_conservation(
    connectivities: sp.spmatrix,
    knn_indices: np.ndarray,
    knn_distances: np.ndarray,
    labels: np.ndarray,
    pseudotimes: pd.DataFrame | np.ndarray | Sequence[np.ndarray],
) -> float:
    """Mean over lineages of scib's trajectory conservation on the integrated k-NN graph.

    ``pseudotimes``: one column per lineage (true pseudotime, NaN off the lineage), rows in
    the cells' order; ``knn_indices``/``knn_distances`` include the cell itself in column 0.
    """
    frame = pd.DataFrame(
        np.column_stack([np.asarray(p, dtype=float) for p in _columns(pseudotimes)])
    )
    n = frame.shape[0]
    names = pd.Index([str(i) for i in range(n)])
    k = knn_indices.shape[1]
    distances = sp.csr_matrix(
        (
            knn_distances[:, 1:].ravel(),
            knn_indices[:, 1:].ravel(),
            np.arange(0, n * (k - 1) + 1, k - 1),
        ),
        shape=(n, n),
    )
    label_series = pd.Series(pd.Categorical(labels), index=names)
    scores = [
        lineage_conservation(
            connectivities, distances, label_series, pd.Series(frame[c].to_numpy(), index=names), k
        )
        for c in frame.columns
    ]
    return float(np.mean(scores))


def _columns(pseudotimes) -> list[np.ndarray]:
    if isinstance(pseudotimes, pd.DataFrame):
        return [pseudotimes[c].to_numpy() for c in pseudotimes.columns]
    array = np.asarray(pseudotimes, dtype=float) if not isinstance(pseudotimes, list) else None
    if array is not None and array.ndim == 1:
        return [array]
    if array is not None:
        return [array[:, j] for j in range(array.shape[1])]
    return list(pseudotimes)
