"""Turn a dataset entry of the config into a standard raw AnnData."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anndata as ad

from claire.bench.contract import InputError, to_standard_raw
from claire.bench.h5ad_files import read_h5ad
from claire.bench.simulate import simulate_counts

log = logging.getLogger(__name__)


def load_raw(
    name: str,
    spec: Mapping[str, Any],
    seed: int = 0,
    files: Mapping[str, Path] | None = None,
) -> ad.AnnData:
    """Load dataset ``name`` as described by its config ``spec`` in the raw contract.

    ``files`` maps a download source's roles to the local files fetched for it.
    Simulated sources use their own seed, else ``seed``. Optional subsampling is
    applied last (stratified by batch and cell type).
    """
    source = spec["source"]
    kind = source["type"]
    if kind == "simulated":
        params = {k: v for k, v in source.items() if k != "type"}
        params.setdefault("seed", seed)
        raw = simulate_counts(**params)
    elif kind == "h5ad":
        adata = read_h5ad(Path(source["path"]))
        raw = to_standard_raw(
            adata,
            spec["batch_key"],
            spec["label_key"],
            spec.get("counts_layer"),
            name=name,
            integer_counts=spec.get("integer_counts", True),
            not_log_transformed=spec.get("not_log_transformed", False),
        )
    elif kind == "download":
        from claire.bench.convert import convert_source

        if not files:
            raise InputError(f"{name}: download source without fetched files")
        adata = convert_source(source["format"], dict(files))
        raw = to_standard_raw(
            adata,
            spec["batch_key"],
            spec["label_key"],
            spec.get("counts_layer"),
            name=name,
            integer_counts=spec.get("integer_counts", True),
            not_log_transformed=spec.get("not_log_transformed", False),
        )
    else:
        raise InputError(f"{name}: unknown source type {kind!r}")
    subsample = spec.get("subsample")
    if subsample:
        from claire.bench.subsample import stratified_subsample

        raw = stratified_subsample(raw, subsample["n_cells"], seed=subsample.get("seed", seed))
    raw.uns["dataset"] = {"name": name, "source": kind}
    log.info(
        "%s: %d cells x %d genes, %d batches, %d cell types",
        name,
        raw.n_obs,
        raw.n_vars,
        raw.obs["batch"].nunique(),
        raw.obs["cell_type"].nunique(),
    )
    return raw
