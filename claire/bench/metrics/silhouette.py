"""Silhouette scores: bASW (batch mixing within cell types) and cASW (cell-type separation).

Both follow scib exactly (``scib.metrics.silhouette_batch`` / ``silhouette``, which use
sklearn's ``silhouette_samples``): Euclidean distances, a cell alone in its cluster
scores 0, bASW skips cell types present in one batch only (or with one cell per batch),
takes 1 - |s| per cell, averages per cell type and then over cell types; cASW is the
mean silhouette rescaled to [0, 1]. They are computed from the per-group distance sums
of :func:`~claire.bench.metrics.pairwise.pairwise_summary`, so all silhouettes of an
embedding cost one pass over the pairwise distances. :func:`batch_asw_split_from_summary`
splits bASW's shortfall by the sign of the batch silhouettes (a diagnostic, not a metric of
the paper).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from claire.bench.metrics.pairwise import PairwiseSummary

log = logging.getLogger(__name__)


def silhouette_from_sums(sums: np.ndarray, own: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-cell silhouette from summed distances to every cluster (sklearn semantics).

    ``sums[i, c]``: summed distance of cell i to the other cells of cluster c; ``own``:
    each cell's cluster; ``counts``: cluster sizes (clusters of size 0 are ignored).
    """
    n = own.size
    rows = np.arange(n)
    own_size = counts[own]
    with np.errstate(divide="ignore", invalid="ignore"):
        intra = sums[rows, own] / (own_size - 1)
        mean_to = sums / counts[None, :]
        mean_to[:, counts == 0] = np.inf
        mean_to[rows, own] = np.inf
        nearest = mean_to.min(axis=1)
        sil = (nearest - intra) / np.maximum(intra, nearest)
    sil = np.nan_to_num(sil, nan=0.0, posinf=0.0, neginf=0.0)
    sil[own_size == 1] = 0.0
    return sil


def batch_silhouettes(
    summary: PairwiseSummary, labels: np.ndarray, batches: np.ndarray
) -> dict[int, np.ndarray]:
    """Per-cell batch silhouettes within each cell type that bASW scores (scib's skips).

    ``labels``/``batches`` are integer codes; the values are signed, in cell order.
    """
    n_batches = summary.batch_sums.shape[1]
    per_type: dict[int, np.ndarray] = {}
    for label in np.unique(labels):
        cells = np.flatnonzero(labels == label)
        counts = np.bincount(batches[cells], minlength=n_batches)
        present = int((counts > 0).sum())
        if present == 1 or present == cells.size:
            continue
        per_type[int(label)] = silhouette_from_sums(
            summary.batch_sums[cells], batches[cells], counts
        )
    return per_type


def batch_asw_from_summary(
    summary: PairwiseSummary, labels: np.ndarray, batches: np.ndarray
) -> tuple[float, dict[int, float]]:
    """bASW and its per-cell-type means (cell types skipped as scib does are absent).

    ``labels``/``batches`` are integer codes. Returns NaN when no cell type is shared
    by two batches.
    """
    per_type = {
        label: float(np.mean(1.0 - np.abs(sil)))
        for label, sil in batch_silhouettes(summary, labels, batches).items()
    }
    if not per_type:
        log.warning("bASW undefined: no cell type is present in more than one batch")
        return float("nan"), per_type
    return float(np.mean(list(per_type.values()))), per_type


@dataclass(frozen=True)
class BatchAswSplit:
    """bASW's shortfall from 1 by the sign of the cells' batch silhouettes.

    scib scores a cell by ``1 - |s|``, so two opposite geometries cost the same:
    ``apart`` (s > 0: the cell is nearer its own batch than any other, batches
    separated within the type) and ``overlap`` (s < 0: nearer another batch than its
    own, e.g. a batch spread over a compact one, a sign of over-correction). Both are
    averaged like bASW (per cell type, then over types): ``basw = 1 - apart - overlap``.
    """

    basw: float
    apart: float
    overlap: float


def batch_asw_split_from_summary(
    summary: PairwiseSummary, labels: np.ndarray, batches: np.ndarray
) -> BatchAswSplit:
    """bASW with its shortfall split into the ``apart`` and ``overlap`` parts."""
    per_type = batch_silhouettes(summary, labels, batches)
    if not per_type:
        nan = float("nan")
        return BatchAswSplit(nan, nan, nan)
    apart = float(np.mean([np.mean(np.clip(s, 0.0, None)) for s in per_type.values()]))
    overlap = float(np.mean([np.mean(np.clip(-s, 0.0, None)) for s in per_type.values()]))
    return BatchAswSplit(1.0 - apart - overlap, apart, overlap)


def label_silhouettes(summary: PairwiseSummary, labels: np.ndarray) -> np.ndarray:
    """Per-cell silhouette with respect to the cell-type labels (integer codes)."""
    counts = np.bincount(labels, minlength=summary.label_sums.shape[1])
    return silhouette_from_sums(summary.label_sums, labels, counts)


def label_asw_from_summary(summary: PairwiseSummary, labels: np.ndarray) -> float:
    """cASW = (mean cell-type silhouette + 1) / 2; NaN with fewer than two cell types."""
    if np.unique(labels).size < 2:
        log.warning("cASW undefined: fewer than two cell types")
        return float("nan")
    return float((np.mean(label_silhouettes(summary, labels)) + 1.0) / 2.0)
