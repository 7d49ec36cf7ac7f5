"""The standard raw AnnData contract and its input validator.

Every dataset, whatever its source, is turned into one shape before preprocessing:
counts in ``X`` as CSR float32, ``obs["batch"]`` and ``obs["cell_type"]`` categorical,
unique cell and gene names. Problems that cannot be fixed safely raise
:class:`InputError` with one clear message; safe fixes (unique names) are logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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
) -> ad.AnnData:
    """Return a new AnnData that follows the raw contract.

    Counts are taken from ``layers[counts_layer]`` (or ``X``), the batch and label
    columns are copied to ``obs["batch"]`` / ``obs["cell_type"]``; the original obs
    columns are kept. ``integer_counts=False`` accepts non-negative non-integer values
    (some public "counts" are not integers, e.g. one batch of scIB's Immune data).
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
    return validate_raw(raw, name=name, integer_counts=integer_counts)


def validate_raw(
    adata: ad.AnnData, name: str = "dataset", counts: bool = True, integer_counts: bool = True
) -> ad.AnnData:
    """Check the raw contract and return the (possibly fixed) AnnData.

    Safe fixes are logged: duplicated names are made unique, all-zero cells and genes
    are dropped. Everything else raises :class:`InputError`.
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
        if integer_counts and not np.all(data == np.round(data)):
            raise InputError(
                f"{name}: X has non-integer values; raw counts are expected "
                "(set counts_layer if the counts live in a layer, or integer_counts: false)"
            )
    if X.nnz == 0:
        raise InputError(f"{name}: X is all zeros")
    adata = _drop_empty(adata, name)
    _make_unique(adata, name)
    return adata


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
# What an adapter hands back, and what results/integration/{dataset}/{method}.h5ad holds.


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
