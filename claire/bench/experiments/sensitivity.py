"""CLAIRE's hyper-parameter sensitivity grid (paper Fig. 4b): run names and the grid.

A grid point is an ordinary run named ``<method>__<param>_<value>`` that the workflow
integrates and scores like any method; :func:`sensitivity_runs` lists them from the
config's ``sensitivity`` block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claire.bench.registry.methods import RUN_SEPARATOR, MethodSpec

__all__ = [
    "INTEGER_PARAMS",
    "RUN_SEPARATOR",
    "SENSITIVITY_PARAMS",
    "parse_value",
    "run_name",
    "sensitivity_runs",
]

SENSITIVITY_PARAMS = ("alpha", "knn", "eta")  # CLAIRE's grid (paper Fig. 4b)
INTEGER_PARAMS = ("knn",)


def parse_value(param: str, text: str | float) -> int | float:
    """Grid value of ``param`` from its text in a run name or the config (knn an integer)."""
    if param not in SENSITIVITY_PARAMS:
        raise ValueError(f"unknown sensitivity parameter {param!r}; use {SENSITIVITY_PARAMS}")
    return int(float(text)) if param in INTEGER_PARAMS else float(text)


def run_name(method: str, param: str, value: Any) -> str:
    return f"{method}{RUN_SEPARATOR}{param}_{parse_value(param, value)}"


def sensitivity_runs(
    block: Mapping[str, Any], specs: Mapping[str, MethodSpec]
) -> dict[str, tuple[str, dict[str, int | float]]]:
    """Run name -> (method, {param: value}) of the grid of the config's ``sensitivity``
    block (empty when off); one parameter changes per run, in SENSITIVITY_PARAMS order."""
    if not block["enabled"]:
        return {}
    method = block["method"]
    if method not in specs or specs[method].runner != "claire":
        raise ValueError(f"sensitivity.method {method!r} must be a registered runner-claire method")
    runs = {}
    for param in SENSITIVITY_PARAMS:
        for value in block[param]:
            runs[run_name(method, param, value)] = (method, {param: parse_value(param, value)})
    return runs
