"""CLAIRE hyper-parameter sensitivity (paper Fig. 4b): one run per grid value, scored.

Each run changes one parameter (alpha, knn or eta) of the base CLAIRE parameters and is
scored with :func:`claire.bench.metrics.compute_all`; a failed run is recorded with NaN
metrics so the grid stays complete.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import anndata as ad
import pandas as pd

from claire.bench.methods.base import EMBEDDING_KEY
from claire.bench.methods.claire import integration_result
from claire.bench.metrics import MetricSettings, compute_all

log = logging.getLogger(__name__)

SENSITIVITY_PARAMS = ("alpha", "knn", "eta")
SENSITIVITY_METRICS = ("basw", "kbet", "ari", "nmi")
SENSITIVITY_COLUMNS = ("dataset", "param", "value", "status", "error", *SENSITIVITY_METRICS)


def parse_value(param: str, text: str) -> int | float:
    """Grid value of ``param`` from its wildcard text (knn is an integer)."""
    if param not in SENSITIVITY_PARAMS:
        raise ValueError(f"unknown sensitivity parameter {param!r}; use {SENSITIVITY_PARAMS}")
    return int(text) if param == "knn" else float(text)


def grid_points(grid: Mapping[str, Sequence[int | float]]) -> list[tuple[str, str]]:
    """(param, value text) of every run of the grid, one parameter varied at a time."""
    points = []
    for param, values in grid.items():
        for value in values:
            points.append((param, str(parse_value(param, str(value)))))
    return points


def sensitivity_record(
    preprocessed: ad.AnnData,
    dataset: str,
    param: str,
    value: int | float,
    base_params: Mapping[str, Any],
    seed: int,
    settings: MetricSettings,
) -> dict[str, Any]:
    """Train CLAIRE with ``param = value`` on top of ``base_params`` and score the embedding."""
    if param not in SENSITIVITY_PARAMS:
        raise ValueError(f"unknown sensitivity parameter {param!r}; use {SENSITIVITY_PARAMS}")
    params = {**base_params, param: value, "snapshot_epochs": []}
    log.info("%s: CLAIRE with %s=%s", dataset, param, value)
    result = integration_result(preprocessed, "claire", params, seed, record_errors=True)
    info = result.uns["integration"]
    record: dict[str, Any] = {
        "dataset": dataset,
        "param": param,
        "value": value,
        "status": info["status"],
        "error": info["error"],
    }
    if info["status"] != "ok":
        return {**record, **dict.fromkeys(SENSITIVITY_METRICS, math.nan)}
    values = compute_all(result, settings=settings, embedding_key=EMBEDDING_KEY)
    return {**record, **{m: float(values[m]) for m in SENSITIVITY_METRICS}}


def sensitivity_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Records as a table sorted by dataset, parameter and value."""
    table = pd.DataFrame(list(records), columns=list(SENSITIVITY_COLUMNS))
    return table.sort_values(["dataset", "param", "value"], kind="stable").reset_index(drop=True)
