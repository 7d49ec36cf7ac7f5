"""One run of the CLAIRE sensitivity grid: train with one parameter changed, then score.

Each run changes one parameter (alpha, knn or eta) of the base CLAIRE parameters and is
scored with :func:`claire.bench.metrics.compute_all`; a failed run is recorded with NaN
metrics so the grid stays complete.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import anndata as ad

from claire.bench.methods.base import EMBEDDING_KEY
from claire.bench.methods.claire import integration_result
from claire.bench.metrics import MetricSettings, compute_all
from claire.bench.sensitivity import SENSITIVITY_METRICS, SENSITIVITY_PARAMS

log = logging.getLogger(__name__)


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
