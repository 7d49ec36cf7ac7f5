"""Seeded cell subsampling: stratified by batch x cell type (quick runs on big datasets),
and plain index draws (the cells shown in UMAP figures)."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import InputError

log = logging.getLogger(__name__)


def stratified_subsample(
    adata: ad.AnnData,
    n_cells: int,
    seed: int,
    batch_key: str = "batch",
    label_key: str = "cell_type",
) -> ad.AnnData:
    """Keep ``n_cells`` cells, each (batch, cell type) group in proportion to its size.

    When ``n_cells`` is at least the number of groups, every group keeps at least one
    cell, so rare types survive. Shares are rounded with the largest-remainder rule; cells
    inside a group are drawn without replacement with ``numpy.random.default_rng(seed)``.
    Cells keep their original order. ``n_cells >= adata.n_obs`` returns a full copy.
    """
    if n_cells < 1:
        raise InputError(f"n_cells must be >= 1, got {n_cells}")
    for key in (batch_key, label_key):
        if key not in adata.obs.columns:
            raise InputError(f"obs[{key!r}] is missing; available: {list(adata.obs.columns)}")
    if n_cells >= adata.n_obs:
        log.info("subsample: %d requested, %d available; keeping all", n_cells, adata.n_obs)
        return adata.copy()
    groups = _group_codes(adata.obs[batch_key], adata.obs[label_key])
    sizes = np.bincount(groups)
    quotas = allocate(sizes, n_cells)
    rng = np.random.default_rng(seed)
    order = np.argsort(groups, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    chosen = [
        rng.choice(order[start : start + size], size=quota, replace=False)
        for start, size, quota in zip(starts, sizes, quotas, strict=True)
        if quota
    ]
    keep = np.sort(np.concatenate(chosen))
    log.info(
        "subsample: kept %d of %d cells across %d batch x type groups (seed %d)",
        keep.size,
        adata.n_obs,
        int((quotas > 0).sum()),
        seed,
    )
    return adata[keep].copy()


def subsample_indices(n_cells: int, max_cells: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most ``max_cells`` cells drawn without replacement (all when None)."""
    if n_cells < 1:
        raise ValueError("cannot subsample an empty dataset")
    if max_cells is None or n_cells <= max_cells:
        return np.arange(n_cells)
    if max_cells < 2:
        raise ValueError(f"max_cells must be at least 2, got {max_cells}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_cells, size=max_cells, replace=False))


def allocate(sizes: np.ndarray, n_cells: int) -> np.ndarray:
    """Split ``n_cells`` over groups of ``sizes`` proportionally (largest remainder).

    Each non-empty group gets at least one cell when ``n_cells`` allows it; no group gets
    more cells than it has. The result sums to ``min(n_cells, sizes.sum())``.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    total = int(sizes.sum())
    if n_cells >= total:
        return sizes.copy()
    nonempty = (sizes > 0).astype(np.int64)
    floor = nonempty if n_cells >= int(nonempty.sum()) else np.zeros_like(sizes)
    room = sizes - floor
    remaining = n_cells - int(floor.sum())
    exact = remaining * room / room.sum()
    quotas = np.floor(exact).astype(np.int64)
    short = remaining - int(quotas.sum())
    # ties broken by group order: a stable sort on the negated remainders
    for group in np.argsort(-(exact - quotas), kind="stable")[:short]:
        quotas[group] += 1
    return floor + quotas


def _group_codes(batch: pd.Series, label: pd.Series) -> np.ndarray:
    """Integer code of each cell's (batch, label) pair, groups in sorted order."""
    if batch.isna().any() or label.isna().any():
        raise InputError("batch and label columns must not contain missing values")
    pairs = pd.MultiIndex.from_arrays([batch.astype(str), label.astype(str)])
    codes, _ = pd.factorize(pairs, sort=True)
    return codes
