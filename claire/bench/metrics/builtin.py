"""The built-in metrics, one function each, registered in
:data:`claire.bench.registry.metrics.BUILTIN_METRICS` exactly like plug-in metrics: each
takes a :class:`~claire.bench.metrics.context.MetricContext` and returns a float, reusing
the context's shared products (pairwise pass, k-NN graph, Louvain sweep, silhouettes)."""

from __future__ import annotations

import logging

from claire.bench.metrics import downstream, extended
from claire.bench.metrics.context import MetricContext
from claire.bench.metrics.kbet import kbet_acceptance
from claire.bench.metrics.silhouette import batch_asw_from_summary, label_asw_from_summary

log = logging.getLogger(__name__)


def basw(c: MetricContext) -> float:
    return batch_asw_from_summary(c.summary, c.labels, c.batches)[0]


def kbet(c: MetricContext) -> float:
    return kbet_acceptance(c.knn_indices, c.batches, c.settings.alpha)


def ari(c: MetricContext) -> float:
    return c.sweep.ari


def nmi(c: MetricContext) -> float:
    return c.sweep.nmi


def casw(c: MetricContext) -> float:
    return label_asw_from_summary(c.summary, c.labels)


def ilisi(c: MetricContext) -> float:
    return extended.ilisi(c.summary.knn_indices, c.summary.knn_distances, c.batches)


def clisi(c: MetricContext) -> float:
    return extended.clisi(c.summary.knn_indices, c.summary.knn_distances, c.labels)


def graph_conn(c: MetricContext) -> float:
    return extended.graph_connectivity(c.knn_indices, c.knn_distances, c.labels)


def isolated_labels(c: MetricContext) -> float:
    return extended.isolated_label_asw(c.label_silhouettes, c.labels, c.batches)


def pcr(c: MetricContext) -> float:
    if c.x_pre is None:
        log.warning("PCR skipped: the unintegrated data (x_pre) was not given")
        return float("nan")
    return extended.pcr_comparison(c.x_pre, c.embedding, c.batches)


def label_transfer(c: MetricContext) -> float:
    return c.label_transfer.accuracy


def label_transfer_f1(c: MetricContext) -> float:
    return c.label_transfer.macro_f1


def trajectory(c: MetricContext) -> float:
    """Trajectory conservation; NaN without true pseudotimes."""
    if c.pseudotimes is None:
        return float("nan")
    return downstream.trajectory_conservation(
        c.graph, c.knn_indices, c.knn_distances, c.labels, c.pseudotimes
    )


def bras(c: MetricContext) -> float:
    return extended.bras(c.embedding, c.labels, c.batches)


def cilisi(c: MetricContext) -> float:
    return extended.cilisi(c.graph, c.labels, c.batches, c.settings.lisi_k)


def basw_apart(c: MetricContext) -> float:
    return c.basw_split.apart


def basw_overlap(c: MetricContext) -> float:
    return c.basw_split.overlap
