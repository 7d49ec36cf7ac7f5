"""The two file contracts of the benchmark: the raw dataset and the integration result.

Raw: every dataset, whatever its source, is turned into one shape before preprocessing:
counts in ``X`` as CSR float32, ``obs["batch"]`` and ``obs["cell_type"]`` categorical,
unique cell and gene names. Problems that cannot be fixed safely raise
:class:`InputError` with one clear message; safe fixes (unique names) are logged.

Integration result (``results/integration/{dataset}/{method}/rep{r}.h5ad``): the cells'
obs (batch, cell type), the embedding ``obsm["X_emb"]``, optional epoch snapshots
``obsm["X_emb_epoch_<e>"]``, and ``uns["integration"]`` (method, status "ok"/"failed",
error, params, seed, repeat, seconds) plus any extra ``uns`` entries of the method.
Metrics and tables read results through this module only, never through the methods.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

BATCH = "batch"
LABEL = "cell_type"

log = logging.getLogger(__name__)


class InputError(ValueError):
    """A dataset or embedding violates the data contract."""


def to_standard_raw(
    adata: ad.AnnData,
    batch_key: str,
    label_key: str,
    counts_layer: str | None = None,
    name: str = "dataset",
    integer_counts: bool = True,
    not_log_transformed: bool = False,
) -> ad.AnnData:
    """Return a new AnnData that follows the raw contract.

    Counts are taken from ``layers[counts_layer]`` (or ``X``), the batch and label
    columns are copied to ``obs["batch"]`` / ``obs["cell_type"]``; the original obs
    columns are kept. ``integer_counts=False`` accepts non-negative non-integer values
    (some public "counts" are not integers, e.g. one batch of scIB's Immune data), except
    values that look log-normalised unless ``not_log_transformed`` (see validate_raw).
    Raises :class:`InputError` on any violation.
    """
    for key, role in ((batch_key, "batch_key"), (label_key, "label_key")):
        if key not in adata.obs.columns:
            raise InputError(
                f"{name}: {role} {key!r} is not an obs column; available: {list(adata.obs.columns)}"
            )
    if counts_layer is not None and counts_layer not in adata.layers:
        raise InputError(
            f"{name}: counts_layer {counts_layer!r} not found; layers: {list(adata.layers)}"
        )
    counts = adata.layers[counts_layer] if counts_layer is not None else adata.X
    obs = adata.obs.copy()
    obs[BATCH] = _as_category(obs[batch_key], name, batch_key)
    obs[LABEL] = _as_category(obs[label_key], name, label_key)
    raw = ad.AnnData(X=_as_csr_float32(counts, name), obs=obs, var=adata.var.copy())
    try:
        return validate_raw(raw, name, True, integer_counts, not_log_transformed)
    except InputError as error:
        if _COUNTS_HINT in str(error) and counts_layer is None:
            layers = ", ".join(map(str, adata.layers)) or "none"
            raise InputError(f"{error}; layers of the file: {layers}") from None
        raise


def validate_raw(
    adata: ad.AnnData,
    name: str = "dataset",
    counts: bool = True,
    integer_counts: bool = True,
    not_log_transformed: bool = False,
) -> ad.AnnData:
    """Check the raw contract and return the (possibly fixed) AnnData.

    Safe fixes are logged: duplicated names are made unique, all-zero cells and genes
    are dropped. Everything else raises :class:`InputError`. Values that look
    log-normalised are refused even with ``integer_counts=False`` unless
    ``not_log_transformed`` says they are not.
    """
    n_obs, n_vars = adata.shape
    if n_obs == 0 or n_vars == 0:
        raise InputError(f"{name}: empty matrix ({n_obs} cells x {n_vars} genes)")
    for key in (BATCH, LABEL):
        if key not in adata.obs.columns:
            raise InputError(f"{name}: obs[{key!r}] is missing")
        missing = int(adata.obs[key].isna().sum())
        if missing:
            raise InputError(f"{name}: obs[{key!r}] has {missing} missing (NaN) values")
    n_batches = adata.obs[BATCH].nunique()
    if n_batches < 2:
        raise InputError(
            f"{name}: only {n_batches} batch in obs[{BATCH!r}]; integration needs at least two"
        )
    X = adata.X
    if not sp.issparse(X):
        raise InputError(f"{name}: X must be a sparse CSR matrix, got {type(X).__name__}")
    data = X.data
    if data.size and not np.all(np.isfinite(data)):
        raise InputError(f"{name}: X contains NaN or infinite values")
    if counts and data.size:
        if data.min() < 0:
            raise InputError(f"{name}: X has negative values; raw counts are expected")
        _check_counts(X, adata.obs[BATCH], name, integer_counts, not_log_transformed)
    if X.nnz == 0:
        raise InputError(f"{name}: X is all zeros")
    adata = _drop_empty(adata, name)
    _make_unique(adata, name)
    return adata


# log1p of counts normalised to 1e4 per cell stays below ~10 (log1p(1e6) = 13.8); raw and
# non-integer counts of real cells reach far higher.
LOG_MAX = 20.0
_COUNTS_HINT = "set counts_layer to the layer that holds the raw counts"


def _check_counts(
    X: sp.csr_matrix, batch: pd.Series, name: str, integer_counts: bool, not_log_transformed: bool
) -> None:
    """Refuse values that look log-normalised (in a batch, most cells hold non-integer
    values and none above LOG_MAX) and, with ``integer_counts``, any non-integer value."""
    fractional = X.data != np.round(X.data)
    if not fractional.any():
        return
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    non_integer = np.zeros(X.shape[0], dtype=bool)
    non_integer[rows[fractional]] = True
    cell_max = np.asarray(X.max(axis=1).todense()).ravel()
    log_like = pd.Series(non_integer & (cell_max < LOG_MAX)).groupby(batch.to_numpy()).mean()
    looks_log = [str(b) for b, share in log_like.items() if share > 0.5]
    if looks_log and not not_log_transformed:
        n_low = int((non_integer & (cell_max < LOG_MAX)).sum())
        where = "" if len(looks_log) == log_like.size else f" in batch(es) {', '.join(looks_log)}"
        raise InputError(
            f"{name}: X looks log-normalised{where} ({n_low} of {X.shape[0]} cells hold "
            f"non-integer values with a maximum below {LOG_MAX:g}); raw counts are expected: "
            f"{_COUNTS_HINT} (if these values really are not log-transformed: "
            "integer_counts: false and not_log_transformed: true)"
        )
    if integer_counts:
        n_cells = int(non_integer.sum())
        cells = "1 cell" if n_cells == 1 else f"{n_cells} cells"
        raise InputError(
            f"{name}: X has non-integer values in {cells}; raw counts are expected: "
            f"{_COUNTS_HINT}, or integer_counts: false if these are non-integer counts"
        )


def _drop_empty(adata: ad.AnnData, name: str) -> ad.AnnData:
    cell_totals = np.asarray(adata.X.sum(axis=1)).ravel()
    gene_totals = np.asarray(adata.X.sum(axis=0)).ravel()
    keep_cells, keep_genes = cell_totals > 0, gene_totals > 0
    if keep_cells.all() and keep_genes.all():
        return adata
    log.warning(
        "%s: dropping %d all-zero cells and %d all-zero genes",
        name,
        int((~keep_cells).sum()),
        int((~keep_genes).sum()),
    )
    kept = adata[keep_cells, keep_genes].copy()
    for key in (BATCH, LABEL):
        kept.obs[key] = kept.obs[key].cat.remove_unused_categories()
    if kept.obs[BATCH].nunique() < 2:
        raise InputError(f"{name}: fewer than two batches left after dropping all-zero cells")
    return kept


def _as_category(values: pd.Series, name: str, key: str) -> pd.Categorical:
    if values.isna().any():
        raise InputError(f"{name}: obs[{key!r}] has {int(values.isna().sum())} missing values")
    as_str = values.astype(str)
    return pd.Categorical(as_str, categories=sorted(as_str.unique()))


def _as_csr_float32(matrix, name: str) -> sp.csr_matrix:
    if matrix is None:
        raise InputError(f"{name}: X is missing")
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, dtype=np.float32)
    else:
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise InputError(f"{name}: expression matrix must be 2-D, got shape {arr.shape}")
        csr = sp.csr_matrix(arr.astype(np.float32, copy=False))
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def _make_unique(adata: ad.AnnData, name: str) -> None:
    for axis, index in (("cell", adata.obs_names), ("gene", adata.var_names)):
        n_dup = int(index.duplicated().sum())
        if n_dup:
            log.warning("%s: %d duplicated %s names made unique", name, n_dup, axis)
            if axis == "cell":
                adata.obs_names_make_unique()
            else:
                adata.var_names_make_unique()


# ---- the integration result file ---------------------------------------------------------

EMBEDDING_KEY = "X_emb"
SNAPSHOT_PATTERN = re.compile(rf"^{EMBEDDING_KEY}_epoch_(\d+)$")
STATUS_OK = "ok"
STATUS_FAILED = "failed"
STATUS_OVER_BUDGET = "over_budget"  # stopped by the scaling experiment's time/memory budget
STATUS_SKIPPED = "skipped"  # not run: the method broke its budget on a smaller size


def snapshot_key(epoch: int) -> str:
    """obsm key of the embedding snapshot at ``epoch``."""
    return f"{EMBEDDING_KEY}_epoch_{int(epoch)}"


@dataclass
class AdapterResult:
    """What an adapter may return instead of a bare ``n_cells x d`` embedding.

    ``snapshots`` maps a training epoch to the embedding at that epoch (written as
    ``obsm["X_emb_epoch_<epoch>"]``, scored into training curves); ``uns`` holds extra
    top-level ``uns`` entries of the result file (h5ad-serialisable: numbers, strings,
    lists, arrays, nested dicts), e.g. ``{"claire": {...run statistics...}}``.
    """

    embedding: Any
    snapshots: dict[int, Any] = field(default_factory=dict)
    uns: dict[str, Any] = field(default_factory=dict)


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
    output: AdapterResult | np.ndarray | None,
    method: str,
    params: Mapping[str, Any],
    seed: int,
    seconds: float,
    error: str | None = None,
    repeat: int = 0,
    status: str | None = None,
    device: str = "cpu",
) -> ad.AnnData:
    """Build the integration result file's AnnData from a (validated) adapter output.

    ``output`` is an AdapterResult or a bare embedding; None (with ``error``) gives a
    result without embedding (``n x 0``) whose status is ``status`` (default "failed").
    """
    obs = adata.obs[[BATCH, LABEL]].copy()
    if output is not None and not isinstance(output, AdapterResult):
        output = AdapterResult(output)
    embedding = output.embedding if output is not None else np.zeros((adata.n_obs, 0), np.float32)
    result = ad.AnnData(obs=obs, obsm={EMBEDDING_KEY: embedding})
    if output is not None:
        for epoch, snapshot in sorted(output.snapshots.items()):
            result.obsm[snapshot_key(epoch)] = snapshot
        for key, value in output.uns.items():
            if key == "integration":
                raise InputError(f"{method}: uns['integration'] is reserved for the runner")
            result.uns[key] = value
    result.uns["integration"] = {
        "method": method,
        "status": status or (STATUS_FAILED if error else STATUS_OK),
        "error": error or "",
        "params": json.dumps(dict(params), sort_keys=True, default=str),
        "seed": int(seed),
        "repeat": int(repeat),
        "seconds": float(seconds),
        "device": device,
    }
    return result


def is_failed(result: ad.AnnData) -> bool:
    """True when an integration result records a run without embedding (failed, over
    budget or skipped)."""
    return result.uns.get("integration", {}).get("status", STATUS_OK) != STATUS_OK


def snapshot_epochs(result: ad.AnnData) -> list[int]:
    """Epochs of the ``obsm["X_emb_epoch_<e>"]`` snapshots, ascending."""
    epochs = [int(m.group(1)) for key in result.obsm if (m := SNAPSHOT_PATTERN.match(key))]
    return sorted(epochs)


RUN_PATH = re.compile(
    r"(?P<dataset>[^/]+)/(?P<method>[^/]+)/rep(?P<repeat>\d+)(?P<suffix>\.[^/]+)$"
)


def parse_run_path(path: str | os.PathLike, suffix: str) -> tuple[str, str, int]:
    """(dataset, method, repeat) of a per-run file ``.../{dataset}/{method}/rep{r}<suffix>``
    (integration result, metrics record, training curve, benchmark record)."""
    text = Path(path).as_posix()
    match = RUN_PATH.search(text)
    if match is None or match["suffix"] != suffix:
        raise ValueError(f"{path}: expected a file .../<dataset>/<method>/rep<r>{suffix}")
    return match["dataset"], match["method"], int(match["repeat"])
