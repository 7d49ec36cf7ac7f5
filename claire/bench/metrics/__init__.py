"""Integration metrics of the CLAIRE paper (section 3.2) and optional scIB extras.

bASW and cASW (scib silhouette semantics), kBET (scETM's chi-square acceptance rate,
k = 15 with the cell itself), NMI and ARI (Louvain sweep 0.1..2.0 on the 15-NN graph,
highest-NMI clustering). Every function takes plain arrays; :func:`compute_all` computes
every registered metric from one pairwise pass and one k-NN graph.
"""

from claire.bench.metrics.clustering import PAPER_RESOLUTIONS, SweepResult, louvain_sweep
from claire.bench.metrics.compute import (
    MetricSettings,
    batch_asw,
    batch_asw_split,
    compute_all,
    kbet,
    label_asw,
    nmi_ari,
    prepare_inputs,
)
from claire.bench.metrics.context import MetricContext
from claire.bench.metrics.kbet import kbet_acceptance, kbet_pvalues
from claire.bench.registry import metrics as _registry

__all__ = [
    "CORE_METRICS",
    "EXTENDED_METRICS",
    "PAPER_RESOLUTIONS",
    "MetricContext",
    "MetricSettings",
    "SweepResult",
    "batch_asw",
    "batch_asw_split",
    "compute_all",
    "kbet",
    "kbet_acceptance",
    "kbet_pvalues",
    "label_asw",
    "louvain_sweep",
    "nmi_ari",
    "prepare_inputs",
]


def __getattr__(name: str):
    """CORE_METRICS and EXTENDED_METRICS, read live from the metric registry."""
    if name in ("CORE_METRICS", "EXTENDED_METRICS"):
        return getattr(_registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
