"""What the figures read besides the metric tables: seed refinement, runtime, embeddings.

:func:`seed_refinement_table` reads ``uns["claire"]["refinement"]`` of CLAIRE result
files; :func:`runtime_table` reads Snakemake ``benchmark:`` TSVs of the integration step;
:func:`load_embeddings` and :func:`load_snapshots` read embeddings for the UMAP grids.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import BATCH, LABEL
from claire.bench.methods.base import EMBEDDING_KEY
from claire.bench.metrics.evaluate import snapshot_epochs
from claire.bench.plots.umap import subsample_indices

log = logging.getLogger(__name__)

REFINEMENT_COLUMNS = (
    "dataset",
    "method",
    "refine_epoch",
    "n_seeds_before",
    "n_seeds_after",
    "true_frac_before",
    "true_frac_after",
)
RUNTIME_COLUMNS = ("dataset", "method", "status", "n_cells", "seconds", "max_rss_mb", "cpu_time")


def _dataset_method(path: str | os.PathLike, suffix: str) -> tuple[str, str]:
    """(dataset, method) of a ``.../{dataset}/{method}<suffix>`` path."""
    path = Path(path)
    if not path.name.endswith(suffix):
        raise ValueError(f"{path}: expected a file named <method>{suffix}")
    return path.parent.name, path.name.removesuffix(suffix)


def _number(value: object) -> float:
    """``value`` as float; None and non-numbers become NaN."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def refinement_record(result: ad.AnnData, dataset: str, method: str) -> dict | None:
    """One row of the seed-refinement table, or None when the file has no CLAIRE statistics.

    A failed run or a method without ``uns["claire"]`` yields None; a run without
    refinement (var2) yields a row with ``refine_epoch`` NaN and equal before/after.
    """
    info = result.uns.get("integration", {})
    if info.get("status", "ok") != "ok":
        log.info("%s/%s: failed run, no refinement statistics", dataset, method)
        return None
    refinement = result.uns.get("claire", {}).get("refinement")
    if not refinement:
        log.info("%s/%s: no uns['claire']['refinement']", dataset, method)
        return None
    return {
        "dataset": dataset,
        "method": method,
        "refine_epoch": _number(refinement.get("epoch")),
        "n_seeds_before": _number(refinement.get("n_seeds_before")),
        "n_seeds_after": _number(refinement.get("n_seeds_after")),
        "true_frac_before": _number(refinement.get("true_frac_before")),
        "true_frac_after": _number(refinement.get("true_frac_after")),
    }


def seed_refinement_table(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Seed counts and true-seed shares of CLAIRE result files ``{dataset}/{method}.h5ad``."""
    rows = []
    for path in paths:
        dataset, method = _dataset_method(path, ".h5ad")
        result = ad.read_h5ad(path, backed="r")
        try:
            record = refinement_record(result, dataset, method)
        finally:
            result.file.close()
        if record is not None:
            rows.append(record)
    return pd.DataFrame(rows, columns=list(REFINEMENT_COLUMNS))


def read_benchmark(path: str | os.PathLike) -> dict[str, float]:
    """Wall time (s), peak RSS (MB) and CPU time of one Snakemake benchmark TSV (first run)."""
    table = pd.read_csv(path, sep="\t")
    missing = [c for c in ("s", "max_rss") if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"{path}: not a Snakemake benchmark file (missing {missing or 'rows'})")
    row = table.iloc[0]
    return {
        "seconds": _number(row["s"]),
        "max_rss_mb": _number(row["max_rss"]),
        "cpu_time": _number(row.get("cpu_time")),
    }


def runtime_table(
    benchmark_paths: Iterable[str | os.PathLike], raw_metrics: pd.DataFrame
) -> pd.DataFrame:
    """Runtime and peak memory per (dataset, method) with n_cells and status from raw_metrics.

    ``benchmark_paths`` are ``.../{dataset}/{method}.tsv``; ``raw_metrics`` has columns
    dataset, method, status, n_cells. A pair missing from ``raw_metrics`` gets NaN cells.
    """
    missing = {"dataset", "method", "status", "n_cells"} - set(raw_metrics.columns)
    if missing:
        raise ValueError(f"raw metrics table lacks columns {sorted(missing)}")
    known: Mapping[tuple[str, str], pd.Series] = {
        (str(r["dataset"]), str(r["method"])): r for _, r in raw_metrics.iterrows()
    }
    rows = []
    for path in benchmark_paths:
        dataset, method = _dataset_method(path, ".tsv")
        meta = known.get((dataset, method))
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "status": meta["status"] if meta is not None else "unknown",
                "n_cells": _number(meta["n_cells"]) if meta is not None else math.nan,
                **read_benchmark(path),
            }
        )
    return pd.DataFrame(rows, columns=list(RUNTIME_COLUMNS))


def _embedding_or_none(result: ad.AnnData, key: str) -> np.ndarray | None:
    """``obsm[key]`` as float32, or None for a failed run / an empty (n x 0) embedding."""
    if result.uns.get("integration", {}).get("status", "ok") != "ok":
        return None
    embedding = np.asarray(result.obsm[key], dtype=np.float32)
    return embedding if embedding.ndim == 2 and embedding.shape[1] > 0 else None


def load_embeddings(
    paths: Mapping[str, str | os.PathLike], max_cells: int | None, seed: int
) -> tuple[dict[str, np.ndarray | None], pd.DataFrame]:
    """Embeddings (``obsm["X_emb"]``) of the same seeded cell subsample from result files.

    ``paths`` maps a method to its ``{dataset}/{method}.h5ad``. Returns the embeddings (None
    for a failed method) and the subsample's obs (batch, cell_type), in the first file's
    cell order; every file must hold the same cells.
    """
    if not paths:
        raise ValueError("no integration results to load")
    embeddings: dict[str, np.ndarray | None] = {}
    cells: pd.Index | None = None
    obs: pd.DataFrame | None = None
    for method, path in paths.items():
        result = ad.read_h5ad(path)
        if cells is None:
            keep = subsample_indices(result.n_obs, max_cells, seed)
            cells = result.obs_names[keep]
            obs = result.obs.iloc[keep][[BATCH, LABEL]].copy()
        missing = cells.difference(result.obs_names)
        if len(missing):
            raise ValueError(f"{path}: {len(missing)} cells of the other results are missing")
        embeddings[method] = _embedding_or_none(result[cells], EMBEDDING_KEY)
    return embeddings, obs


def load_snapshots(
    path: str | os.PathLike, max_cells: int | None, seed: int
) -> tuple[dict[str, np.ndarray | None], pd.DataFrame]:
    """Epoch snapshots (``obsm["X_emb_epoch_<e>"]``) then the final embedding of one result.

    Keys are "epoch <e>" and "final"; the cells are a seeded subsample (obs returned).
    """
    result = ad.read_h5ad(path)
    keep = subsample_indices(result.n_obs, max_cells, seed)
    result = result[keep]
    failed = _embedding_or_none(result, EMBEDDING_KEY) is None
    epochs = [] if failed else snapshot_epochs(result)
    embeddings: dict[str, np.ndarray | None] = {
        f"epoch {e}": _embedding_or_none(result, f"{EMBEDDING_KEY}_epoch_{e}") for e in epochs
    }
    embeddings["final"] = _embedding_or_none(result, EMBEDDING_KEY)
    return embeddings, result.obs[[BATCH, LABEL]].copy()
