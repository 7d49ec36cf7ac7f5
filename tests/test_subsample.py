"""Stratified, seeded subsampling by batch x cell type."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from claire.bench.contract import InputError
from claire.bench.subsample import allocate, stratified_subsample

ROOT = Path(__file__).resolve().parents[1]
CELLBENCH = ROOT / ".." / "shared" / "data" / "cellbench_5cl_3plates.h5ad"


def _toy(sizes: dict[tuple[str, str], int]) -> ad.AnnData:
    batches, labels = [], []
    for (batch, label), size in sizes.items():
        batches += [batch] * size
        labels += [label] * size
    n = len(batches)
    obs = pd.DataFrame(
        {"batch": pd.Categorical(batches), "cell_type": pd.Categorical(labels)},
        index=[f"cell{i}" for i in range(n)],
    )
    X = sp.csr_matrix(np.arange(n, dtype=np.float32).reshape(-1, 1) + 1)
    return ad.AnnData(X=X, obs=obs)


SIZES = {("b1", "T"): 600, ("b1", "B"): 300, ("b2", "T"): 90, ("b2", "rare"): 3, ("b2", "B"): 7}


def test_group_shares_follow_group_sizes_and_rare_groups_survive():
    adata = _toy(SIZES)
    sub = stratified_subsample(adata, n_cells=100, seed=0)

    assert sub.n_obs == 100
    got = sub.obs.groupby(["batch", "cell_type"], observed=True).size().to_dict()
    assert got[("b2", "rare")] >= 1 and got[("b2", "B")] >= 1
    # the big groups keep their proportions to within one cell
    assert abs(got[("b1", "T")] - 100 * 600 / 1000) <= 2
    assert abs(got[("b1", "B")] - 100 * 300 / 1000) <= 2
    assert abs(got[("b2", "T")] - 100 * 90 / 1000) <= 2


def test_subsample_keeps_rows_intact_and_in_original_order():
    adata = _toy(SIZES)
    sub = stratified_subsample(adata, n_cells=57, seed=3)

    positions = adata.obs_names.get_indexer(sub.obs_names)
    assert np.all(np.diff(positions) > 0)
    np.testing.assert_array_equal(sub.X.toarray().ravel(), positions + 1)
    assert list(sub.obs["batch"]) == list(adata.obs["batch"].iloc[positions])


def test_same_seed_same_cells_other_seed_other_cells():
    adata = _toy(SIZES)
    first = stratified_subsample(adata, 80, seed=7)
    again = stratified_subsample(adata, 80, seed=7)
    other = stratified_subsample(adata, 80, seed=8)
    assert list(first.obs_names) == list(again.obs_names)
    assert list(first.obs_names) != list(other.obs_names)


def test_asking_for_all_cells_returns_a_copy():
    adata = _toy(SIZES)
    sub = stratified_subsample(adata, 5000, seed=0)
    assert sub.n_obs == adata.n_obs and sub is not adata


@pytest.mark.parametrize(
    "sizes,n",
    [([5, 1, 1, 100], 10), ([3, 3, 3], 2), ([10, 0, 7], 9), ([1, 1, 1, 1], 3), ([50, 50], 99)],
)
def test_allocate_sums_to_target_and_respects_group_sizes(sizes, n):
    quotas = allocate(np.array(sizes), n)
    assert quotas.sum() == n
    assert np.all(quotas <= np.array(sizes)) and np.all(quotas >= 0)
    if n >= sum(s > 0 for s in sizes):
        assert np.all(quotas[np.array(sizes) > 0] >= 1)


def test_bad_input_is_rejected():
    adata = _toy(SIZES)
    with pytest.raises(InputError, match="n_cells must be >= 1"):
        stratified_subsample(adata, 0, seed=0)
    with pytest.raises(InputError, match=r"obs\['donor'\] is missing"):
        stratified_subsample(adata, 10, seed=0, batch_key="donor")


@pytest.mark.skipif(not CELLBENCH.exists(), reason="shared real data not available")
def test_real_data_keeps_every_plate_and_cell_line():
    real = ad.read_h5ad(CELLBENCH)
    sub = stratified_subsample(real, 200, seed=0, batch_key="batch", label_key="celltype")
    assert sub.n_obs == 200
    assert set(sub.obs["batch"]) == set(real.obs["batch"])
    assert set(sub.obs["celltype"]) == set(real.obs["celltype"])
    counts = pd.crosstab(real.obs["batch"], real.obs["celltype"]).stack()
    kept = pd.crosstab(sub.obs["batch"], sub.obs["celltype"]).stack()
    expected = 200 * counts / counts.sum()
    assert np.all(np.abs(kept.reindex(expected.index, fill_value=0) - expected) <= 1.5)
