"""The raw AnnData contract: one clear error per bad input, safe fixes logged."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from claire.bench.contract import InputError, to_standard_raw, validate_raw


def make_counts(n_cells: int = 60, n_genes: int = 30, seed: int = 0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2.0, size=(n_cells, n_genes)).astype(np.float32) + 1
    obs = pd.DataFrame(
        {
            "plate": np.repeat(["p1", "p2", "p3"], n_cells // 3),
            "label": np.tile(["a", "b"], n_cells // 2),
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"g{j}" for j in range(n_genes)])
    return ad.AnnData(X=counts, obs=obs, var=var)


def standard(adata: ad.AnnData, **kwargs) -> ad.AnnData:
    return to_standard_raw(adata, "plate", "label", **kwargs)


def test_standard_raw_shape_and_types():
    raw = standard(make_counts())
    assert sp.isspmatrix_csr(raw.X) or isinstance(raw.X, sp.csr_array)
    assert raw.X.dtype == np.float32
    assert isinstance(raw.obs["batch"].dtype, pd.CategoricalDtype)
    assert isinstance(raw.obs["cell_type"].dtype, pd.CategoricalDtype)
    assert list(raw.obs["batch"].cat.categories) == ["p1", "p2", "p3"]
    # the original columns are kept
    assert "plate" in raw.obs and "label" in raw.obs


def test_counts_are_taken_from_layer():
    adata = make_counts()
    adata.layers["counts"] = adata.X.copy()
    adata.X = np.log1p(adata.X)
    raw = standard(adata, counts_layer="counts")
    np.testing.assert_array_equal(raw.X.toarray(), adata.layers["counts"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.obs.drop(columns="plate", inplace=True), "batch_key 'plate' is not an obs"),
        (lambda a: a.obs.drop(columns="label", inplace=True), "label_key 'label' is not an obs"),
        (
            lambda a: a.obs.__setitem__("label", a.obs["label"].where(a.obs.index != "c3")),
            "missing",
        ),
        (lambda a: a.obs.__setitem__("plate", "p1"), "only 1 batch"),
        (lambda a: a.X.__setitem__((0, 0), -1.0), "negative values"),
        (lambda a: a.X.__setitem__((0, 0), 0.5), "non-integer"),
        (lambda a: a.X.__setitem__((0, 0), np.nan), "NaN"),
        (lambda a: a.X.__imul__(0), "all zeros"),
    ],
    ids=[
        "no-batch",
        "no-label",
        "nan-label",
        "one-batch",
        "negative",
        "non-integer",
        "nan",
        "zeros",
    ],
)
def test_bad_input_raises_one_clear_error(mutate, message):
    adata = make_counts()
    mutate(adata)
    with pytest.raises(InputError, match=message):
        standard(adata)


def test_missing_counts_layer():
    with pytest.raises(InputError, match="counts_layer 'counts' not found"):
        standard(make_counts(), counts_layer="counts")


def test_empty_matrix():
    adata = make_counts()[:0].copy()
    with pytest.raises(InputError, match="empty matrix"):
        validate_raw(standard_like(adata))


def standard_like(adata: ad.AnnData) -> ad.AnnData:
    out = ad.AnnData(X=sp.csr_matrix(adata.X), obs=adata.obs.copy())
    out.obs["batch"] = pd.Categorical(adata.obs["plate"])
    out.obs["cell_type"] = pd.Categorical(adata.obs["label"])
    return out


def test_all_zero_cells_and_genes_are_dropped_with_a_log(caplog):
    adata = make_counts()
    adata.X[5, :] = 0
    adata.X[:, 7] = 0
    with caplog.at_level(logging.WARNING):
        raw = standard(adata)
    assert raw.shape == (59, 29)
    assert "c5" not in raw.obs_names and "g7" not in raw.var_names
    assert "1 all-zero cells and 1 all-zero genes" in caplog.text


def test_duplicate_names_made_unique_with_a_log(caplog):
    adata = make_counts()
    adata.obs_names = ["same"] * adata.n_obs
    adata.var_names = ["g0", "g0"] + list(adata.var_names[2:])
    with caplog.at_level(logging.WARNING):
        raw = standard(adata)
    assert raw.obs_names.is_unique and raw.var_names.is_unique
    assert "duplicated cell names" in caplog.text and "duplicated gene names" in caplog.text


def test_real_data_passes(cellbench_raw):
    raw = to_standard_raw(cellbench_raw, "batch", "celltype", name="cellbench")
    assert raw.n_obs == cellbench_raw.n_obs
    assert raw.obs["batch"].nunique() == 3
    assert raw.obs["cell_type"].nunique() == 5


def test_non_integer_counts_accepted_when_declared():
    adata = make_counts()
    adata.X[0, 0] = 0.5
    raw = standard(adata, integer_counts=False)
    assert raw.X[0, 0] == pytest.approx(0.5)
    adata.X[0, 0] = -0.5
    with pytest.raises(InputError, match="negative"):
        standard(adata, integer_counts=False)
