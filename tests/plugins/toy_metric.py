"""A toy plug-in metric, the worked example of adding a metric (README, "Adding a metric"):
the share of each cell's k nearest neighbours (itself excluded) from another batch."""

from __future__ import annotations

import numpy as np

from claire.bench.registry.metrics import Metric


def cross_batch_share(context) -> float:
    """Mean share of other-batch cells among the k-NN (claire.bench.metrics MetricContext)."""
    neighbours = context.knn_indices[:, 1:]
    other = context.batches[neighbours] != context.batches[:, None]
    return float(np.mean(other))


# What a plug-in module listed in the config's ``metrics.modules`` exposes.
METRICS = (
    Metric(
        "cross_batch",
        "batch",
        "cross-batch kNN",
        in_score=True,
        function="plugins.toy_metric:cross_batch_share",
    ),
)
