"""What the figures read besides the metric tables: seed refinement, runtime, embeddings.

Per-run files are ``.../{dataset}/{method}/rep{r}<suffix>``
(:func:`claire.bench.contract.parse_run_path`). :func:`seed_refinement_table` reads
``uns["claire"]["refinement"]`` of CLAIRE result files; :func:`runtime_table` reads the
Snakemake ``benchmark:`` TSVs of the integration step with the status and cell count of
the matching result files and the training schedule each run ran
(:mod:`claire.bench.tables.schedule`; so it does not wait for the metrics); :func:`load_embeddings`
and :func:`load_snapshots` read embeddings for the UMAP grids.
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

from claire.bench.contract import (
    BATCH,
    EMBEDDING_KEY,
    LABEL,
    is_failed,
    parse_run_path,
    snapshot_epochs,
    snapshot_key,
)
from claire.bench.registry.methods import MethodSpec, registry
from claire.bench.subsample import subsample_indices
from claire.bench.tables.schedule import method_schedule, run_params, schedule_text

log = logging.getLogger(__name__)

REFINEMENT_COLUMNS = (
    "dataset",
    "method",
    "repeat",
    "refine_epoch",
    "n_seeds_before",
    "n_seeds_after",
    "true_frac_before",
    "true_frac_after",
)
RUNTIME_COLUMNS = (
    "dataset",
    "method",
    "repeat",
    "status",
    "n_cells",
    "seconds",
    "max_rss_mb",
    "cpu_time",
    "schedule",
)
UNKNOWN_STATUS = "unknown"


def _number(value: object) -> float:
    """``value`` as float; None and non-numbers become NaN."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def refinement_record(
    result: ad.AnnData, dataset: str, method: str, repeat: int = 0
) -> dict | None:
    """One row of the seed-refinement table, or None when the file has no CLAIRE statistics.

    A failed run or a method without ``uns["claire"]`` yields None; a run without
    refinement (var2) yields a row with ``refine_epoch`` NaN and equal before/after.
    """
    if is_failed(result):
        log.info("%s/%s/rep%d: failed run, no refinement statistics", dataset, method, repeat)
        return None
    refinement = result.uns.get("claire", {}).get("refinement")
    if not refinement:
        log.info("%s/%s/rep%d: no uns['claire']['refinement']", dataset, method, repeat)
        return None
    return {
        "dataset": dataset,
        "method": method,
        "repeat": int(repeat),
        "refine_epoch": _number(refinement.get("epoch")),
        "n_seeds_before": _number(refinement.get("n_seeds_before")),
        "n_seeds_after": _number(refinement.get("n_seeds_after")),
        "true_frac_before": _number(refinement.get("true_frac_before")),
        "true_frac_after": _number(refinement.get("true_frac_after")),
    }


def seed_refinement_table(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Seed counts and true-seed shares of CLAIRE result files ``.../{method}/rep{r}.h5ad``."""
    rows = []
    for path in paths:
        dataset, method, repeat = parse_run_path(path, ".h5ad")
        result = ad.read_h5ad(path, backed="r")
        try:
            record = refinement_record(result, dataset, method, repeat)
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


def result_summary(
    path: str | os.PathLike, method: str, specs: Mapping[str, MethodSpec] | None = None
) -> dict[str, object]:
    """Status (``uns["integration"]["status"]``), number of cells and training schedule
    (:func:`~claire.bench.tables.schedule.schedule_text`) of one result file of ``method``,
    read backed (the embedding is not loaded)."""
    specs = registry() if specs is None else specs
    result = ad.read_h5ad(path, backed="r")
    try:
        uns = result.uns
        status = uns.get("integration", {}).get("status", UNKNOWN_STATUS)
        n_cells = int(result.n_obs)
        schedule = schedule_text(method_schedule(method, specs), run_params(uns), n_cells, uns)
        return {"status": str(status), "n_cells": n_cells, "schedule": schedule}
    finally:
        result.file.close()


def runtime_table(
    benchmark_paths: Iterable[str | os.PathLike],
    result_paths: Iterable[str | os.PathLike],
    specs: Mapping[str, MethodSpec] | None = None,
) -> pd.DataFrame:
    """Runtime and peak memory per run (dataset, method, repeat) with status, n_cells and
    the training schedule it ran against the authors' (``specs``: the method registry).

    ``benchmark_paths`` are ``.../{dataset}/{method}/rep{r}.tsv``, ``result_paths`` the
    integration results ``.../{dataset}/{method}/rep{r}.h5ad`` of the same runs. Rows follow
    ``benchmark_paths``; a run whose result file is not given gets status "unknown", NaN
    cells and an empty schedule.
    """
    results = {parse_run_path(path, ".h5ad"): path for path in result_paths}
    rows = []
    for path in benchmark_paths:
        run = parse_run_path(path, ".tsv")
        dataset, method, repeat = run
        if run in results:
            meta = result_summary(results[run], method, specs)
        else:
            log.warning("%s: no integration result of this run given", path)
            meta = {"status": UNKNOWN_STATUS, "n_cells": math.nan, "schedule": ""}
        rows.append(
            {"dataset": dataset, "method": method, "repeat": repeat, **meta, **read_benchmark(path)}
        )
    table = pd.DataFrame(rows, columns=list(RUNTIME_COLUMNS))
    table["n_cells"] = table["n_cells"].astype("Int64")
    return table


def _embedding_or_none(result: ad.AnnData, key: str) -> np.ndarray | None:
    """``obsm[key]`` as float32, or None for a failed run / an empty (n x 0) embedding."""
    if is_failed(result):
        return None
    embedding = np.asarray(result.obsm[key], dtype=np.float32)
    return embedding if embedding.ndim == 2 and embedding.shape[1] > 0 else None


def load_embeddings(
    paths: Mapping[str, str | os.PathLike], max_cells: int | None, seed: int
) -> tuple[dict[str, np.ndarray | None], pd.DataFrame]:
    """Embeddings (``obsm["X_emb"]``) of the same seeded cell subsample from result files.

    ``paths`` maps a method to one of its result files. Returns the embeddings (None for a
    failed method) and the subsample's obs (batch, cell_type), in the first file's cell
    order; every file must hold the same cells.
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
    result = ad.read_h5ad(Path(path))
    keep = subsample_indices(result.n_obs, max_cells, seed)
    result = result[keep]
    failed = _embedding_or_none(result, EMBEDDING_KEY) is None
    epochs = [] if failed else snapshot_epochs(result)
    embeddings: dict[str, np.ndarray | None] = {
        f"epoch {e}": _embedding_or_none(result, snapshot_key(e)) for e in epochs
    }
    embeddings["final"] = _embedding_or_none(result, EMBEDDING_KEY)
    return embeddings, result.obs[[BATCH, LABEL]].copy()
