"""What every metric function receives: one embedding's inputs and the products of its
pairwise pass, each computed at most once and shared by all the metrics that need it."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from claire.bench.metrics import downstream
from claire.bench.metrics.clustering import SweepResult, louvain_sweep
from claire.bench.metrics.knn_graph import knn_connectivities
from claire.bench.metrics.pairwise import PairwiseSummary
from claire.bench.metrics.silhouette import (
    BatchAswSplit,
    batch_asw_split_from_summary,
    label_silhouettes,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

    from claire.bench.metrics.compute import MetricSettings

log = logging.getLogger(__name__)


@contextlib.contextmanager
def timed(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Log the seconds of the block (and store them in ``timings`` under ``name``)."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    log.info("%s: %.2f s", name, seconds)
    if timings is not None:
        timings[name] = seconds


@dataclass(frozen=True, eq=False)
class MetricContext:
    """One checked embedding (integer batch and label codes) and its pairwise pass.

    ``summary``: the pass with ``lisi_k`` neighbours when extended (else ``k``);
    ``knn_indices``/``knn_distances``: its first ``settings.k`` columns (the cell itself in
    column 0). The k-NN graph, the Louvain sweep (``clusters``: the kept clustering), the
    label silhouettes, the bASW split and the label transfer are computed on first use.
    ``x_pre``: the unintegrated data of the same cells (PCR); ``pseudotimes``: one column
    per lineage (trajectory conservation).
    """

    embedding: np.ndarray
    batches: np.ndarray
    labels: np.ndarray
    summary: PairwiseSummary
    settings: MetricSettings
    x_pre: np.ndarray | None = None
    pseudotimes: pd.DataFrame | None = None
    timings: dict[str, float] | None = field(default=None, repr=False)

    @property
    def knn_indices(self) -> np.ndarray:
        return self.summary.knn_indices[:, : self.settings.k]

    @property
    def knn_distances(self) -> np.ndarray:
        return self.summary.knn_distances[:, : self.settings.k]

    @cached_property
    def graph(self) -> sp.csr_matrix:
        """UMAP connectivities of the k-NN graph."""
        with timed(self.timings, "knn graph (UMAP connectivities)"):
            return knn_connectivities(self.knn_indices, self.knn_distances)

    @cached_property
    def sweep(self) -> SweepResult:
        """The Louvain sweep over ``settings.resolutions`` (highest-NMI clustering kept)."""
        graph = self.graph
        with timed(self.timings, "louvain sweep (nmi, ari)"):
            s = self.settings
            return louvain_sweep(graph, self.labels, s.resolutions, s.seed, s.n_jobs)

    @property
    def clusters(self) -> np.ndarray:
        return self.sweep.clusters

    @cached_property
    def label_silhouettes(self) -> np.ndarray:
        return label_silhouettes(self.summary, self.labels)

    @cached_property
    def basw_split(self) -> BatchAswSplit:
        return batch_asw_split_from_summary(self.summary, self.labels, self.batches)

    @cached_property
    def label_transfer(self) -> downstream.LabelTransfer:
        with timed(self.timings, "label transfer"):
            return downstream.label_transfer(
                self.embedding,
                self.batches,
                self.labels,
                k=self.settings.label_transfer_k,
                drop_first=self.settings.label_transfer_drop_first,
            )
