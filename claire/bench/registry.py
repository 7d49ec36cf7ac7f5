"""The identity of every metric and every method: one place each, no heavy imports.

Metrics: :data:`METRICS` lists each metric once (name, group, display label, whether it
enters S_batch / S_bio / F1, whether training curves draw it, colour). Tables, curves, the
sensitivity grid and the figures derive their columns and labels from it.

Methods: ``config/methods.yaml`` (plus any extra registry files named by the config's
``method_registry``) holds one entry per method: how the workflow runs it (runner, module
or script, env, threads, resources, gpu), what it is (display label, family, reference
DOI), whether it reads cell-type labels and whether one repeat suffices. The run config
only lists which methods run and overrides their parameters. This module is importable
in every environment (only PyYAML besides the standard library).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# ---- metrics ------------------------------------------------------------------------------


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


# ---- methods ------------------------------------------------------------------------------

RUNNERS = ("python", "rscript", "claire", "precomputed")
FAMILIES = (
    "baseline",
    "classical",
    "contrastive",
    "deep clustering",
    "deep generative",
    "external",
    "control",
)
CONTROL_FAMILY = "control"  # left out of the paper's F1 min-max (control-scaled table only)
NO_INTEGRATION_FAMILY = "baseline"  # the unintegrated PCA: a control of the scaled table too
DEFAULT_REGISTRY = Path(__file__).resolve().parents[2] / "config" / "methods.yaml"
LABEL_USE_MARK = "†"  # appended to the display name of a method that reads cell-type labels


class RegistryError(ValueError):
    """A method registry entry or a reference to a method is invalid."""


@dataclass(frozen=True)
class MethodSpec:
    """One method registry entry (see config/methods.yaml for the meaning of each key)."""

    name: str
    runner: str
    label: str
    family: str
    module: str | None = None
    script: str | None = None
    env: str | None = None
    threads: int = 2
    mem_mb: int = 8000
    runtime: int = 60
    gpu: bool = False
    uses_labels: bool = False
    deterministic: bool = False
    reimplementation: bool = False
    reference: str = ""
    base: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """Label for tables and figures; label-informed methods carry a mark."""
        return f"{self.label}{LABEL_USE_MARK}" if self.uses_labels else self.label


_ENTRY_KEYS = {
    "runner",
    "label",
    "family",
    "module",
    "script",
    "env",
    "threads",
    "resources",
    "gpu",
    "uses_labels",
    "deterministic",
    "reimplementation",
    "reference",
    "base",
    "params",
}


def method_spec(name: str, entry: Mapping[str, Any]) -> MethodSpec:
    """Check one registry entry and return its :class:`MethodSpec`."""
    if not isinstance(entry, Mapping):
        raise RegistryError(f"method {name!r}: registry entry must be a mapping")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise RegistryError(f"method {name!r}: unknown registry key(s) {unknown}")
    runner = entry.get("runner")
    if runner not in RUNNERS:
        raise RegistryError(f"method {name!r}: runner must be one of {RUNNERS}, got {runner!r}")
    if runner == "python" and not entry.get("module"):
        raise RegistryError(f"method {name!r}: runner python needs a module")
    if runner == "rscript" and not entry.get("script"):
        raise RegistryError(f"method {name!r}: runner rscript needs a script")
    family = entry.get("family", "external")
    if family not in FAMILIES:
        raise RegistryError(f"method {name!r}: family must be one of {FAMILIES}, got {family!r}")
    resources = dict(entry.get("resources") or {})
    unknown = sorted(set(resources) - {"mem_mb", "runtime"})
    if unknown:
        raise RegistryError(f"method {name!r}: unknown resource(s) {unknown} (mem_mb, runtime)")
    return MethodSpec(
        name=name,
        runner=runner,
        label=str(entry.get("label", name)),
        family=family,
        module=entry.get("module"),
        script=entry.get("script"),
        env=entry.get("env"),
        threads=int(entry.get("threads", 2)),
        mem_mb=int(resources.get("mem_mb", 8000)),
        runtime=int(resources.get("runtime", 60)),
        gpu=bool(entry.get("gpu", False)),
        uses_labels=bool(entry.get("uses_labels", False)),
        deterministic=bool(entry.get("deterministic", False)),
        reimplementation=bool(entry.get("reimplementation", False)),
        reference=str(entry.get("reference", "")),
        base=entry.get("base"),
        params=dict(entry.get("params") or {}),
    )


def load_registry(extra: Iterable[str | os.PathLike] = ()) -> dict[str, MethodSpec]:
    """The built-in registry (config/methods.yaml) with the entries of ``extra`` files
    added or replacing built-in ones."""
    entries: dict[str, Any] = {}
    for path in (DEFAULT_REGISTRY, *extra):
        path = Path(path)
        if not path.exists():
            raise RegistryError(f"method registry file {path} does not exist")
        content = yaml.safe_load(path.read_text()) or {}
        if not isinstance(content, Mapping):
            raise RegistryError(f"{path}: a method registry is a mapping of method names")
        entries.update(content)
    registry = {name: method_spec(name, entry) for name, entry in entries.items()}
    for spec in registry.values():
        if spec.base is not None and spec.base not in registry:
            raise RegistryError(f"method {spec.name!r}: base {spec.base!r} is not registered")
    return registry


_REGISTRY: dict[str, MethodSpec] | None = None


def registry() -> dict[str, MethodSpec]:
    """The built-in registry, read once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def display_name(method: str, specs: Mapping[str, MethodSpec] | None = None) -> str:
    """Display name of a method (or of a run ``<method>__<param>_<value>``)."""
    specs = registry() if specs is None else specs
    base, _, variant = method.partition(RUN_SEPARATOR)
    spec = specs.get(base)
    name = spec.display_name if spec is not None else base
    return f"{name} ({variant.replace('_', '=', 1)})" if variant else name


def uses_labels(method: str, specs: Mapping[str, MethodSpec] | None = None) -> bool:
    """Whether a method (or a run of it) reads the cell-type labels."""
    specs = registry() if specs is None else specs
    spec = specs.get(method.partition(RUN_SEPARATOR)[0])
    return bool(spec and spec.uses_labels)


# A run of a method with one parameter changed (sensitivity grid): "<method>__<param>_<value>".
RUN_SEPARATOR = "__"
SENSITIVITY_PARAMS = ("alpha", "knn", "eta")  # CLAIRE's grid (paper Fig. 4b)
INTEGER_PARAMS = ("knn",)


def parse_value(param: str, text: str | float) -> int | float:
    """Grid value of ``param`` from its text in a run name or the config (knn an integer)."""
    if param not in SENSITIVITY_PARAMS:
        raise ValueError(f"unknown sensitivity parameter {param!r}; use {SENSITIVITY_PARAMS}")
    return int(float(text)) if param in INTEGER_PARAMS else float(text)


def run_name(method: str, param: str, value: Any) -> str:
    return f"{method}{RUN_SEPARATOR}{param}_{parse_value(param, value)}"


# ---- the run config's view of the registry --------------------------------------------------

# Keys of the old config layout, and where each one went (checked before schema validation).
_MOVED = (
    "the implementation of a method (runner, module, script, env, threads, resources) moved "
    "to the method registry config/methods.yaml; `methods` is now a list of method names and "
    "their parameter overrides go under `method_params: {<method>: {...}}`"
)


def config_layout_problems(config: Mapping[str, Any]) -> list[str]:
    """What moved, one line per key, when ``config`` uses the old layout (else [])."""
    problems = []
    methods = config.get("methods")
    if isinstance(methods, Mapping):
        problems.append(f"`methods` is a mapping: {_MOVED}")
    for name, spec in (config.get("datasets") or {}).items():
        if isinstance(spec, Mapping) and "claire" in spec:
            problems.append(
                f"datasets.{name}.claire moved to datasets.{name}.method_params.claire "
                "(per-dataset overrides of any method)"
            )
    report = config.get("report") or {}
    if isinstance(report, Mapping) and "sensitivity" in report:
        problems.append("report.sensitivity moved to the top-level key `sensitivity`")
    return problems


def check_config_layout(config: Mapping[str, Any]) -> None:
    """Raise RegistryError naming what moved when ``config`` uses the old layout."""
    problems = config_layout_problems(config)
    if problems:
        raise RegistryError("config uses the old layout:\n- " + "\n- ".join(problems))


def resolve_methods(names: Iterable[str], specs: Mapping[str, MethodSpec]) -> list[str]:
    """The run's method names, checked against the registry (duplicates refused)."""
    names = list(names)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise RegistryError(
            f"method(s) {unknown} are not in the method registry; registered: {sorted(specs)}"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RegistryError(f"method(s) {duplicated} listed twice under `methods`")
    return names


def merged_params(
    spec: MethodSpec,
    method_params: Mapping[str, Mapping[str, Any]],
    dataset_params: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A method's parameters on one dataset, later layers winning:

    the base method's config and dataset overrides (ablations follow their base method),
    the registry entry's own ``params``, the config's ``method_params[<method>]``, the
    dataset's ``method_params[<method>]``, then ``extra`` (one grid point of the
    sensitivity experiment).
    """
    layers: list[Mapping[str, Any]] = []
    if spec.base is not None:
        layers += [method_params.get(spec.base) or {}, dataset_params.get(spec.base) or {}]
    layers += [
        spec.params,
        method_params.get(spec.name) or {},
        dataset_params.get(spec.name) or {},
        extra or {},
    ]
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def gpu_methods(extra: Iterable[str | os.PathLike] = ()) -> tuple[str, ...]:
    """Names of the registered methods that use a GPU (for cluster profiles)."""
    return tuple(sorted(name for name, spec in load_registry(extra).items() if spec.gpu))
