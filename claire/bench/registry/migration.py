"""Old-config migration: what moved, one line per key, when a run config uses the layout
from before the method registry (checked before schema validation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claire.bench.registry.methods import RegistryError

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
