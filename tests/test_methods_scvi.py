"""scVI through scvi-tools on the raw counts: real-data quality, seeding, input errors."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing

from claire.bench.contract import InputError
from claire.bench.methods import scvi
from claire.bench.methods.base import run_method
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts


@pytest.fixture(scope="module")
def tiny() -> ad.AnnData:
    raw = simulate_counts(n_cells=200, n_genes=150, n_batches=2, n_cell_types=3, seed=4)
    return preprocess(raw, n_hvg=100)


def test_scvi_mixes_batches_better_than_pca_on_real_data(kang_raw):
    kang = kang_preprocessed(kang_raw)
    params = {"max_epochs": 50, "torch_threads": 1}
    result = run_method(kang, "scvi", scvi.run, params, seed=0, record_errors=False)
    emb = result.obsm["X_emb"]
    assert emb.shape == (kang.n_obs, 30)
    assert np.isfinite(emb).all()
    scores, pca_scores = mixing(emb, kang), baseline_mixing(kang)
    assert scores.beats(pca_scores), f"scvi {scores} vs PCA {pca_scores}"


def test_scvi_is_reproducible_with_its_seed(tiny):
    params = {"n_latent": 5, "n_layers": 1, "max_epochs": 2, "batch_size": 100}
    first = scvi.run(tiny, "batch", seed=3, **params)
    again = scvi.run(tiny, "batch", seed=3, **params)
    assert first.shape == (tiny.n_obs, 5) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)


def test_scvi_needs_the_counts_layer(tiny):
    no_counts = tiny.copy()
    del no_counts.layers["counts"]
    with pytest.raises(InputError, match="counts"):
        scvi.run(no_counts, "batch", seed=0)
    with pytest.raises(InputError, match="no_such_column"):
        scvi.run(tiny, "no_such_column", seed=0)


def test_default_epochs_follow_scvi_tools_heuristic():
    assert scvi.default_epochs(1_000) == 400
    assert scvi.default_epochs(40_000) == 200
    assert scvi.default_epochs(100_000) == 80
