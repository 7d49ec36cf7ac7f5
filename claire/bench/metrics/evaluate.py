"""Metrics of integration result files: one record per run, and training curves.

An integration file (``results/integration/{dataset}/{method}/rep{r}.h5ad``) whose
``uns["integration"]["status"]`` is "failed" yields a record with status "failed", its
error and no metric values; it never raises. Files of methods that train over epochs may
carry snapshots ``obsm["X_emb_epoch_<e>"]``, scored one by one for the training curves.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import (
    EMBEDDING_KEY,
    STATUS_FAILED,
    STATUS_OK,
    InputError,
    is_failed,
    snapshot_epochs,
    snapshot_key,
)
from claire.bench.io import write_text_atomic
from claire.bench.metrics.compute import MetricSettings, compute_all
from claire.bench.registry.metrics import metric_registry

log = logging.getLogger(__name__)


def metrics_record(
    result: ad.AnnData,
    dataset: str,
    method: str,
    settings: MetricSettings,
    x_pre: np.ndarray | None = None,
    repeat: int = 0,
    pseudotimes: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The metrics JSON record of one integration result.

    ``pseudotimes``: the true pseudotime of each lineage (columns), rows in the result's cell
    order (:func:`pseudotime_table`), for trajectory conservation.

    Keys: dataset, method, repeat, status, error, n_cells, then (status "ok") the metric values,
    best_resolution, the seconds spent and the settings used.
    """
    info = result.uns.get("integration", {})
    record: dict[str, Any] = {
        "dataset": dataset,
        "method": method,
        "repeat": int(repeat),
        "status": STATUS_FAILED if is_failed(result) else STATUS_OK,
        "error": str(info.get("error", "") or ""),
        "n_cells": int(result.n_obs),
    }
    if record["status"] == STATUS_FAILED:
        log.warning("%s on %s failed during integration: %s", method, dataset, record["error"])
        return record
    if "status" not in info:
        raise InputError(f"{method} on {dataset}: uns['integration']['status'] is missing")
    start = time.perf_counter()
    values = compute_all(result, settings=settings, x_pre=x_pre, pseudotimes=pseudotimes)
    record.update(values)
    record["seconds"] = round(time.perf_counter() - start, 3)
    record["settings"] = settings.as_dict()
    return record


def training_curve(
    result: ad.AnnData, settings: MetricSettings, final: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The curve metrics of every snapshot (columns epoch, then the registry's curve metrics).

    ``final`` is the run's metrics record: a snapshot identical to the final embedding (the
    last epoch) takes its values from there instead of being scored again. Empty (header
    only) for a failed run or a file without snapshots.
    """
    core = dataclasses.replace(settings, extended=False)
    curve_metrics = metric_registry().curve
    rows = []
    epochs = [] if is_failed(result) else snapshot_epochs(result)
    reusable = final is not None and final.get("status") == STATUS_OK
    for epoch in epochs:
        snapshot = result.obsm[snapshot_key(epoch)]
        if reusable and np.array_equal(snapshot, result.obsm[EMBEDDING_KEY]):
            values = {m: final[m] for m in curve_metrics}
            log.info("epoch %d: the final embedding, metrics taken from its record", epoch)
        else:
            values = compute_all(
                result,
                settings=core,
                embedding_key=snapshot_key(epoch),
                downstream_metrics=False,
            )
        rows.append({"epoch": epoch, **{m: values[m] for m in curve_metrics}})
        log.info("epoch %d: %s", epoch, {m: round(values[m], 4) for m in curve_metrics})
    if not epochs:
        log.warning("no embedding snapshots to score: the curve is empty")
    return pd.DataFrame(rows, columns=["epoch", *curve_metrics])


def unintegrated_matrix(preprocessed: ad.AnnData, result: ad.AnnData) -> np.ndarray:
    """Dense ``X`` of the preprocessed data, rows in the order of the result's cells."""
    missing = result.obs_names.difference(preprocessed.obs_names)
    if len(missing):
        raise InputError(
            f"{len(missing)} cells of the integration result are not in the preprocessed data"
        )
    x = preprocessed[result.obs_names].X
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float32)


def pseudotime_table(
    preprocessed: ad.AnnData, result: ad.AnnData, keys: str | list[str]
) -> pd.DataFrame:
    """The true pseudotime columns ``keys`` of the preprocessed data (one per lineage, NaN
    off the lineage), rows in the order of the result's cells."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    missing = [k for k in keys if k not in preprocessed.obs.columns]
    if missing:
        raise InputError(f"pseudotime column(s) {missing} are not in the dataset's obs")
    absent = result.obs_names.difference(preprocessed.obs_names)
    if len(absent):
        raise InputError(f"{len(absent)} cells of the integration result are not in the dataset")
    return preprocessed.obs.loc[result.obs_names, keys].astype(float).reset_index(drop=True)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_record(record: dict[str, Any], path: str | os.PathLike) -> None:
    """Write a metrics record as strict JSON (NaN as null), atomically."""
    write_text_atomic(json.dumps(_json_value(record), indent=2) + "\n", path)
