"""CLAIRE in the benchmark: the adapter interface and the richer result of its own rule.

:func:`run` fits the generic adapter interface (embedding only). :func:`integration_result`
is what rule ``integrate_claire`` writes: the standard integration result plus the
embedding snapshots ``obsm["X_emb_epoch_<e>"]`` and the run statistics ``uns["claire"]``
(seed counts, refinement, device, loss history). Cell types are passed to CLAIRE only
to report the share of true seeds; training never uses them.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping
from typing import Any

import anndata as ad
import numpy as np

from claire.api import Claire
from claire.bench.contract import BATCH, LABEL
from claire.bench.methods.base import EMBEDDING_KEY, result_adata, validate_embedding

log = logging.getLogger(__name__)


def run(adata: ad.AnnData, batch_key: str, seed: int, **params: Any) -> np.ndarray:
    """Adapter interface: CLAIRE's embedding of the log-normalised HVGs in ``X``."""
    params = {**params, "seed": seed}
    return Claire(**params).fit(adata, batch_key, progress=False).embedding_


def integration_result(
    adata: ad.AnnData,
    method: str,
    params: Mapping[str, Any],
    seed: int,
    record_errors: bool = True,
) -> ad.AnnData:
    """Train CLAIRE on a preprocessed dataset and pack the integration result file.

    With ``record_errors`` a failure becomes a result with status "failed" and an empty
    embedding (and is logged with its traceback); otherwise it propagates.
    """
    params = dict(params)
    params.setdefault("seed", seed)
    start = time.perf_counter()
    log.info("%s: CLAIRE on %d cells x %d genes, params %s", method, *adata.shape, params)
    try:
        model = Claire(**params).fit(adata, BATCH, label_key=LABEL, progress=False)
        embedding = validate_embedding(model.embedding_, adata.n_obs, method)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, not hidden
        if not record_errors:
            raise
        seconds = time.perf_counter() - start
        log.error("%s failed after %.1f s:\n%s", method, seconds, traceback.format_exc())
        return result_adata(
            adata, None, method, params, params["seed"], seconds, f"{type(exc).__name__}: {exc}"
        )
    seconds = time.perf_counter() - start
    result = result_adata(adata, embedding, method, params, params["seed"], seconds)
    for epoch, snapshot in sorted(model.snapshots_.items()):
        result.obsm[f"{EMBEDDING_KEY}_epoch_{epoch}"] = snapshot
    result.uns["claire"] = model.summary()
    log.info("%s: %d-d embedding in %.1f s", method, embedding.shape[1], seconds)
    return result
