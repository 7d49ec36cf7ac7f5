"""Metric identity: :data:`METRICS` lists each metric once (name, group, display label,
whether it enters S_batch / S_bio / F1, whether training curves draw it, colour). Tables,
curves, the sensitivity grid and the figures derive their columns and labels from it.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One metric of the benchmark.

    ``group``: "batch" or "bio" (enter S_batch / S_bio when ``in_score``) or "extra".
    ``curve``: drawn in training curves and the sensitivity grid.
    ``extended``: computed only when ``metrics.extended`` is on.
    ``function``: "module:callable" of a metric computed outside the built-in pass; it is
    called with a :class:`claire.bench.metrics.compute.MetricContext` and returns a float.
    The built-in metrics (function None) are computed by ``compute_all`` itself.
    ``paper``: shown in the raw-metric table of the paper's layout (Table S1); the others
    (downstream analyses, newer metrics) get their own table next to it.
    """

    name: str
    group: str
    label: str
    in_score: bool = False
    curve: bool = False
    extended: bool = False
    colour: str = "#7F7F7F"
    function: str | None = None
    paper: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("basw", "batch", "bASW", in_score=True, curve=True, colour="#0072B2"),
    Metric("kbet", "batch", "kBET", in_score=True, curve=True, colour="#56B4E9"),
    Metric("ari", "bio", "ARI", in_score=True, curve=True, colour="#D55E00"),
    Metric("nmi", "bio", "NMI", in_score=True, curve=True, colour="#E69F00"),
    Metric("casw", "bio", "cASW", colour="#CC79A7"),
    Metric("ilisi", "batch", "iLISI", extended=True),
    Metric("clisi", "bio", "cLISI", extended=True),
    Metric("graph_conn", "batch", "graph conn.", extended=True),
    Metric("isolated_labels", "bio", "isolated labels", extended=True),
    Metric("pcr", "batch", "PCR", extended=True),
    # Downstream analyses (paper Note S2) and the field's newer metrics (issue 26): next to
    # the paper's F1, never in it (in_score False).
    Metric("label_transfer", "bio", "label transfer acc.", colour="#009E73", paper=False),
    Metric("label_transfer_f1", "bio", "label transfer F1", colour="#66C2A5", paper=False),
    Metric("trajectory", "bio", "trajectory cons.", colour="#F0E442", paper=False),
    Metric("bras", "batch", "BRAS", colour="#3B5BA5", paper=False),
    Metric("cilisi", "batch", "CiLISI", extended=True, paper=False),
    Metric("basw_apart", "extra", "bASW apart", extended=True, paper=False),
    Metric("basw_overlap", "extra", "bASW overlap", extended=True, paper=False),
)


def _derive() -> None:
    """(Re)compute the name lists that every table and figure reads from METRICS."""
    global METRIC_BY_NAME, CORE_METRICS, EXTENDED_METRICS, BATCH_METRICS, BIO_METRICS
    global SCORED_METRICS, CURVE_METRICS, BEYOND_PAPER_METRICS
    METRIC_BY_NAME = {m.name: m for m in METRICS}
    CORE_METRICS = tuple(m.name for m in METRICS if not m.extended)
    EXTENDED_METRICS = tuple(m.name for m in METRICS if m.extended)
    BATCH_METRICS = tuple(m.name for m in METRICS if m.in_score and m.group == "batch")
    BIO_METRICS = tuple(m.name for m in METRICS if m.in_score and m.group == "bio")
    SCORED_METRICS = (*BATCH_METRICS, *BIO_METRICS)
    CURVE_METRICS = tuple(m.name for m in METRICS if m.curve)
    BEYOND_PAPER_METRICS = tuple(m.name for m in METRICS if not m.paper)


METRIC_BY_NAME: dict[str, Metric]
CORE_METRICS: tuple[str, ...]
EXTENDED_METRICS: tuple[str, ...]
BATCH_METRICS: tuple[str, ...]
BIO_METRICS: tuple[str, ...]
SCORED_METRICS: tuple[str, ...]
CURVE_METRICS: tuple[str, ...]
BEYOND_PAPER_METRICS: tuple[str, ...]
_derive()


def register_metric(metric: Metric) -> None:
    """Add a metric to METRICS at run time (a plug-in; editing METRICS does the same).

    Call it before other modules import the derived name lists.
    """
    global METRICS
    if metric.name in METRIC_BY_NAME:
        raise ValueError(f"metric {metric.name!r} is already registered")
    if metric.function is None:
        raise ValueError(f"metric {metric.name!r}: a plug-in metric needs a function")
    METRICS = (*METRICS, metric)
    _derive()


# Aggregate scores, labelled like metrics in tables and figures.
SCORE_LABELS = {"s_batch": "S_batch", "s_bio": "S_bio", "f1": "F1"}


def metric_names(extended: bool = False) -> tuple[str, ...]:
    """Names of the metrics computed for one embedding (core, plus extended ones)."""
    return (*CORE_METRICS, *(EXTENDED_METRICS if extended else ()))


def metric_label(name: str) -> str:
    """Display label of a metric or aggregate score (the name itself when unknown)."""
    if name in METRIC_BY_NAME:
        return METRIC_BY_NAME[name].label
    return SCORE_LABELS.get(name, name)


def metric_colour(name: str) -> str:
    return METRIC_BY_NAME[name].colour
