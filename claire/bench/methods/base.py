"""The adapter interface shared by every integration method.

An adapter is a module (dotted path or a ``.py`` file) with one function::

    def run(adata: AnnData, batch_key: str, seed: int, **params) -> np.ndarray

It receives the preprocessed AnnData (``X`` log-normalised HVGs, ``layers["counts"]``,
``obs["batch"]``/``obs["cell_type"]``; cell types must never be used) and returns an
``n_cells x d`` embedding. :func:`run_method` calls it, validates the embedding and
packs it with its provenance into the integration result file's AnnData; failures
become a result with status "failed" when asked to record them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np

from claire.bench.contract import BATCH, LABEL, InputError

log = logging.getLogger(__name__)

Adapter = Callable[..., np.ndarray]
EMBEDDING_KEY = "X_emb"


def load_adapter(module: str) -> Adapter:
    """Return the ``run`` function of a dotted module path or of a ``.py`` file."""
    if module.endswith(".py"):
        path = Path(module)
        if not path.exists():
            raise InputError(f"adapter file {path} does not exist")
        spec = importlib.util.spec_from_file_location(f"claire_adapter_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise InputError(f"cannot import adapter file {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        mod = importlib.import_module(module)
    run = getattr(mod, "run", None)
    if not callable(run):
        raise InputError(f"adapter {module} has no run(adata, batch_key, seed, **params) function")
    return run


def validate_embedding(embedding: Any, n_cells: int, method: str = "method") -> np.ndarray:
    """Return ``embedding`` as a finite float32 ``n_cells x d`` array or raise InputError."""
    emb = np.asarray(embedding)
    if emb.ndim != 2:
        raise InputError(f"{method}: embedding must be 2-D, got shape {emb.shape}")
    if emb.shape[0] != n_cells:
        raise InputError(f"{method}: embedding has {emb.shape[0]} rows for {n_cells} cells")
    if emb.shape[1] == 0:
        raise InputError(f"{method}: embedding has no dimensions")
    emb = emb.astype(np.float32, copy=False)
    if not np.all(np.isfinite(emb)):
        raise InputError(f"{method}: embedding has {int((~np.isfinite(emb)).sum())} NaN/inf values")
    return emb


def result_adata(
    adata: ad.AnnData,
    embedding: np.ndarray | None,
    method: str,
    params: Mapping[str, Any],
    seed: int,
    seconds: float,
    error: str | None = None,
) -> ad.AnnData:
    """Build the integration result: obs, obsm["X_emb"] and uns["integration"]."""
    obs = adata.obs[[BATCH, LABEL]].copy()
    if embedding is None:
        embedding = np.zeros((adata.n_obs, 0), dtype=np.float32)
    result = ad.AnnData(obs=obs, obsm={EMBEDDING_KEY: embedding})
    result.uns["integration"] = {
        "method": method,
        "status": "failed" if error else "ok",
        "error": error or "",
        "params": json.dumps(dict(params), sort_keys=True, default=str),
        "seed": int(seed),
        "seconds": float(seconds),
    }
    return result


def run_method(
    adata: ad.AnnData,
    method: str,
    adapter: Adapter,
    params: Mapping[str, Any],
    seed: int,
    record_errors: bool = True,
) -> ad.AnnData:
    """Run ``adapter`` on ``adata`` and return the integration result AnnData.

    With ``record_errors`` any exception becomes a result with status "failed" (and is
    logged with its traceback); otherwise it propagates.
    """
    start = time.perf_counter()
    log.info("%s: running on %d cells x %d genes (seed %d)", method, *adata.shape, seed)
    try:
        emb = adapter(adata, BATCH, seed, **params)
        emb = validate_embedding(emb, adata.n_obs, method)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, not hidden
        if not record_errors:
            raise
        seconds = time.perf_counter() - start
        log.error("%s failed after %.1f s:\n%s", method, seconds, traceback.format_exc())
        return result_adata(
            adata, None, method, params, seed, seconds, f"{type(exc).__name__}: {exc}"
        )
    seconds = time.perf_counter() - start
    log.info("%s: %d-d embedding in %.1f s", method, emb.shape[1], seconds)
    return result_adata(adata, emb, method, params, seed, seconds)


def is_failed(result: ad.AnnData) -> bool:
    """True when an integration result records a failed run."""
    return result.uns.get("integration", {}).get("status") == "failed"
