"""Metric identity: every metric, built-in or plug-in, is one :class:`Metric` entry (name,
group, display label, whether it enters S_batch / S_bio / F1, whether training curves draw
it, colour, the function that computes it). Tables, curves, the sensitivity grid, the
figures and ``compute_all`` all read the one immutable :class:`MetricRegistry` returned by
:func:`metric_registry`. Standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

_BUILTIN = "claire.bench.metrics.builtin"


@dataclass(frozen=True)
class Metric:
    """One metric of the benchmark.

    ``group``: "batch" or "bio" (enter S_batch / S_bio when ``in_score``) or "extra".
    ``curve``: drawn in training curves and the sensitivity grid.
    ``extended``: computed only when ``metrics.extended`` is on.
    ``function``: "module:callable", called with a
    :class:`claire.bench.metrics.context.MetricContext` and returning a float.
    ``paper``: shown in the raw-metric table of the paper's layout (Table S1); the others
    (downstream analyses, newer metrics) get their own table next to it.
    ``downstream``: a downstream analysis, skipped by the training curves' pass.
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
    downstream: bool = False


def _builtin(name: str, group: str, label: str, **options: Any) -> Metric:
    return Metric(name, group, label, function=f"{_BUILTIN}:{name}", **options)


BUILTIN_METRICS: tuple[Metric, ...] = (
    _builtin("basw", "batch", "bASW", in_score=True, curve=True, colour="#0072B2"),
    _builtin("kbet", "batch", "kBET", in_score=True, curve=True, colour="#56B4E9"),
    _builtin("ari", "bio", "ARI", in_score=True, curve=True, colour="#D55E00"),
    _builtin("nmi", "bio", "NMI", in_score=True, curve=True, colour="#E69F00"),
    _builtin("casw", "bio", "cASW", colour="#CC79A7"),
    _builtin("ilisi", "batch", "iLISI", extended=True),
    _builtin("clisi", "bio", "cLISI", extended=True),
    _builtin("graph_conn", "batch", "graph conn.", extended=True),
    _builtin("isolated_labels", "bio", "isolated labels", extended=True),
    _builtin("pcr", "batch", "PCR", extended=True),
    # Downstream analyses (paper Note S2) and the field's newer metrics (issue 26): next to
    # the paper's F1, never in it (in_score False).
    _builtin(
        "label_transfer",
        "bio",
        "label transfer acc.",
        colour="#009E73",
        paper=False,
        downstream=True,
    ),
    _builtin(
        "label_transfer_f1",
        "bio",
        "label transfer F1",
        colour="#66C2A5",
        paper=False,
        downstream=True,
    ),
    _builtin(
        "trajectory", "bio", "trajectory cons.", colour="#F0E442", paper=False, downstream=True
    ),
    _builtin("bras", "batch", "BRAS", colour="#3B5BA5", paper=False, downstream=True),
    _builtin("cilisi", "batch", "CiLISI", extended=True, paper=False),
    _builtin("basw_apart", "extra", "bASW apart", extended=True, paper=False),
    _builtin("basw_overlap", "extra", "bASW overlap", extended=True, paper=False),
)


@dataclass(frozen=True, eq=False)
class MetricRegistry:
    """An immutable, ordered set of metrics and the name lists derived from it."""

    metrics: tuple[Metric, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for metric in self.metrics:
            if metric.name in seen:
                raise ValueError(f"metric {metric.name!r} is already registered")
            if not metric.function:
                raise ValueError(f"metric {metric.name!r} needs a function ('module:callable')")
            seen.add(metric.name)

    def with_metrics(self, *metrics: Metric) -> MetricRegistry:
        """A new registry: these metrics after the present ones."""
        return MetricRegistry((*self.metrics, *metrics))

    @cached_property
    def by_name(self) -> MappingProxyType[str, Metric]:
        return MappingProxyType({m.name: m for m in self.metrics})

    def _names(self, keep) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics if keep(m))

    @cached_property
    def core(self) -> tuple[str, ...]:
        return self._names(lambda m: not m.extended)

    @cached_property
    def extended(self) -> tuple[str, ...]:
        return self._names(lambda m: m.extended)

    @cached_property
    def batch(self) -> tuple[str, ...]:
        return self._names(lambda m: m.in_score and m.group == "batch")

    @cached_property
    def bio(self) -> tuple[str, ...]:
        return self._names(lambda m: m.in_score and m.group == "bio")

    @cached_property
    def scored(self) -> tuple[str, ...]:
        return (*self.batch, *self.bio)

    @cached_property
    def curve(self) -> tuple[str, ...]:
        return self._names(lambda m: m.curve)

    @cached_property
    def beyond_paper(self) -> tuple[str, ...]:
        return self._names(lambda m: not m.paper)

    def names(self, extended: bool = False) -> tuple[str, ...]:
        """Names of the metrics computed for one embedding (core, plus extended ones)."""
        return (*self.core, *(self.extended if extended else ()))


_registry = MetricRegistry(BUILTIN_METRICS)


def metric_registry() -> MetricRegistry:
    """The registry in use: the built-in metrics, then the plug-ins registered so far."""
    return _registry


def register_metric(metric: Metric) -> None:
    """Add a plug-in metric: the registry in use becomes a new one with it at the end.

    Call it before the metrics are computed and the tables written (e.g. at the top of a
    plug-in module imported first); everything reads the registry at use time.
    """
    global _registry
    _registry = _registry.with_metrics(metric)


def load_metric_modules(modules: Iterable[str]) -> MetricRegistry:
    """Import plug-in metric modules (config ``metrics.modules``) and register the metrics
    of each one's ``METRICS`` (a sequence of :class:`Metric`); return the registry.

    A metric already registered with the same definition (a module loaded twice, or one
    that calls :func:`register_metric` on import) is kept once; another metric of the same
    name raises ValueError.
    """
    global _registry
    for name in modules:
        module = importlib.import_module(name)
        for metric in getattr(module, "METRICS", ()):
            present = _registry.by_name.get(metric.name)
            if present is None:
                _registry = _registry.with_metrics(metric)
            elif present != metric:
                raise ValueError(f"{name}: metric {metric.name!r} is already registered")
    return _registry


def load_config_metrics(config: Mapping[str, Any]) -> MetricRegistry:
    """:func:`load_metric_modules` of a workflow config's ``metrics.modules`` (if any)."""
    return load_metric_modules((config.get("metrics") or {}).get("modules") or ())


# The registry's name lists under their former module-level names (read live, never copied).
_DERIVED = {
    "METRICS": "metrics",
    "METRIC_BY_NAME": "by_name",
    "CORE_METRICS": "core",
    "EXTENDED_METRICS": "extended",
    "BATCH_METRICS": "batch",
    "BIO_METRICS": "bio",
    "SCORED_METRICS": "scored",
    "CURVE_METRICS": "curve",
    "BEYOND_PAPER_METRICS": "beyond_paper",
}


def __getattr__(name: str) -> Any:
    if name in _DERIVED:
        return getattr(_registry, _DERIVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Aggregate scores, labelled like metrics in tables and figures.
SCORE_LABELS = {"s_batch": "S_batch", "s_bio": "S_bio", "f1": "F1"}


def metric_names(extended: bool = False) -> tuple[str, ...]:
    """Names of the metrics computed for one embedding (core, plus extended ones)."""
    return _registry.names(extended)


def metric_label(name: str) -> str:
    """Display label of a metric or aggregate score (the name itself when unknown)."""
    if name in _registry.by_name:
        return _registry.by_name[name].label
    return SCORE_LABELS.get(name, name)


def metric_colour(name: str) -> str:
    return _registry.by_name[name].colour
