"""Preprocessing exactly as the CLAIRE paper (section 3.1), through scanpy.

Genes expressed in fewer than ``min_cells`` cells are dropped, counts are normalised
to 1e4 per cell and log1p-transformed, and ``n_hvg`` highly variable genes are chosen
with scanpy's "seurat" flavour across batches. The output keeps the log-normalised
HVGs in ``X`` and their raw counts in ``layers["counts"]``.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import scanpy as sc
import scipy.sparse as sp

from claire.bench.contract import BATCH, InputError, validate_raw

log = logging.getLogger(__name__)


def preprocess(
    adata: ad.AnnData,
    n_hvg: int = 2000,
    min_cells: int = 3,
    target_sum: float = 1e4,
    name: str = "dataset",
    integer_counts: bool = True,
    not_log_transformed: bool = False,
) -> ad.AnnData:
    """Return the preprocessed AnnData (X = log-normalised HVGs, layers["counts"])."""
    adata = validate_raw(adata.copy(), name, True, integer_counts, not_log_transformed)
    sc.pp.filter_genes(adata, min_cells=min_cells)
    if adata.n_vars == 0:
        raise InputError(f"{name}: no gene is expressed in at least {min_cells} cells")
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)
    if n_hvg >= adata.n_vars:
        log.warning(
            "%s: n_hvg=%d >= %d genes left after filtering; keeping all genes",
            name,
            n_hvg,
            adata.n_vars,
        )
        adata.var["highly_variable"] = True
    else:
        sc.pp.highly_variable_genes(adata, n_top_genes=n_hvg, flavor="seurat", batch_key=BATCH)
    hvg = adata[:, adata.var["highly_variable"].to_numpy()].copy()
    hvg.X = sp.csr_matrix(hvg.X, dtype=np.float32)
    hvg.layers["counts"] = sp.csr_matrix(hvg.layers["counts"], dtype=np.float32)
    hvg.uns["preprocess"] = {
        "n_hvg": int(hvg.n_vars),
        "min_cells": min_cells,
        "target_sum": target_sum,
        "hvg_flavor": "seurat",
    }
    hvg.uns.pop("log1p", None)
    hvg.uns.pop("hvg", None)
    log.info("%s: %d cells x %d HVGs after preprocessing", name, hvg.n_obs, hvg.n_vars)
    return hvg
