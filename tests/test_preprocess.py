"""Preprocessing equals the scanpy calls it wraps, on simulated and real data."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import scanpy as sc

from claire.bench.contract import InputError, to_standard_raw
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts


def scanpy_reference(raw: ad.AnnData, n_hvg: int) -> ad.AnnData:
    ref = raw.copy()
    sc.pp.filter_genes(ref, min_cells=3)
    ref.layers["counts"] = ref.X.copy()
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, n_top_genes=n_hvg, flavor="seurat", batch_key="batch")
    return ref[:, ref.var["highly_variable"]].copy()


@pytest.mark.parametrize("source", ["simulated", "cellbench"])
def test_equals_scanpy(source, request):
    if source == "simulated":
        raw = simulate_counts(n_cells=600, n_genes=800, n_batches=3, n_cell_types=4, seed=2)
    else:
        real = request.getfixturevalue("cellbench_raw")
        raw = to_standard_raw(real, "batch", "celltype")
    out = preprocess(raw, n_hvg=300)
    ref = scanpy_reference(raw, n_hvg=300)
    assert list(out.var_names) == list(ref.var_names)
    assert out.n_vars == 300
    np.testing.assert_allclose(out.X.toarray(), ref.X.toarray(), rtol=1e-6)
    np.testing.assert_array_equal(out.layers["counts"].toarray(), ref.layers["counts"].toarray())
    assert out.X.format == "csr" and out.X.dtype == np.float32
    assert list(out.obs.columns[:2]) == ["batch", "cell_type"] or {"batch", "cell_type"} <= set(
        out.obs.columns
    )


def test_too_many_hvgs_keeps_all_genes(caplog):
    raw = simulate_counts(n_cells=200, n_genes=120, seed=1)
    out = preprocess(raw, n_hvg=2000)
    assert out.n_vars == np.sum(np.asarray((raw.X > 0).sum(axis=0)).ravel() >= 3)
    assert "keeping all genes" in caplog.text


def test_no_gene_left_is_an_error():
    raw = simulate_counts(n_cells=200, n_genes=120, seed=1)
    with pytest.raises(InputError, match="no gene is expressed"):
        preprocess(raw, min_cells=10_000)
