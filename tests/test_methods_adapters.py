"""Harmony, Scanorama and ComBat on real data (Kang PBMC), through the adapter interface."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.scoring import baseline_mixing, mixing

from claire.bench.contract import InputError
from claire.bench.methods import combat, harmony, scanorama
from claire.bench.methods.base import run_method

ADAPTERS = {"harmony": harmony, "scanorama": scanorama, "combat": combat}


@pytest.fixture(scope="module")
def kang_pca_mixing(kang):
    return baseline_mixing(kang)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_mixes_batches_better_than_pca_on_real_data(name, kang, kang_pca_mixing):
    result = run_method(kang, name, ADAPTERS[name].run, {}, seed=0, record_errors=False)
    emb = result.obsm["X_emb"]
    assert emb.shape == (kang.n_obs, 50)
    assert emb.dtype == np.float32 and np.isfinite(emb).all()
    assert result.uns["integration"]["status"] == "ok"
    scores = mixing(emb, kang)
    assert scores.beats(kang_pca_mixing), f"{name} {scores} vs PCA {kang_pca_mixing}"


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_is_reproducible_with_its_seed(name, small):
    first = ADAPTERS[name].run(small, "batch", seed=7)
    again = ADAPTERS[name].run(small, "batch", seed=7)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_names_a_missing_batch_column(name, small):
    with pytest.raises(InputError, match="no_such_column"):
        ADAPTERS[name].run(small, "no_such_column", seed=0)


def test_scanorama_puts_cells_back_in_their_original_order(small, monkeypatch):
    """Scanorama works batch by batch; the rows it returns must follow adata's order."""
    order = np.random.default_rng(0).permutation(small.n_obs)
    shuffled = small[order].copy()
    parts, rows = scanorama.split_by_batch(shuffled, "batch", scale_per_batch=False)
    assert sorted(np.concatenate(rows)) == list(range(small.n_obs))
    for part, idx in zip(parts, rows, strict=True):
        assert list(part.obs_names) == list(shuffled.obs_names[idx])
        assert shuffled.obs["batch"].iloc[idx].nunique() == 1

    position = {name: float(i) for i, name in enumerate(small.obs_names)}

    def tag_cells(adatas, **kwargs):  # stands in for Scanorama: embeds a cell as its name
        for part in adatas:
            part.obsm["X_scanorama"] = np.array([[position[n]] for n in part.obs_names])

    monkeypatch.setattr(scanorama.scanorama, "integrate_scanpy", tag_cells)
    emb = scanorama.run(shuffled, "batch", seed=0)
    np.testing.assert_array_equal(emb[:, 0], order)


def test_scanorama_embedding_equals_scibs_correct_scanpy_call(small):
    """integrate_scanpy skips the gene-space correction and must give scIB's embedding."""
    ours = scanorama.run(small, "batch", seed=3, dimred=20)
    parts, rows = scanorama.split_by_batch(small, "batch", scale_per_batch=True)
    corrected = scanorama.scanorama.correct_scanpy(
        parts, return_dimred=True, dimred=20, batch_size=5000, seed=3, verbose=0
    )
    scib = np.zeros_like(ours)
    for part, idx in zip(corrected, rows, strict=True):
        scib[idx] = part.obsm["X_scanorama"]
    assert np.abs(ours).max() > 0
    np.testing.assert_array_equal(ours, scib)


def test_scanorama_scales_each_batch_separately(small):
    parts, _ = scanorama.split_by_batch(small, "batch", scale_per_batch=True)
    for part in parts:
        x = np.asarray(part.X)
        expressed = x.std(axis=0) > 0
        np.testing.assert_allclose(x[:, expressed].mean(axis=0), 0, atol=1e-4)
        np.testing.assert_allclose(x[:, expressed].std(axis=0), 1, atol=1e-2)


def test_harmony_rejects_a_transposed_result(small, monkeypatch):
    """harmonypy < 2 returned Z_corr as dims x cells; the adapter must not pass it on."""

    class OldHarmony:
        def __init__(self, pcs):
            self.Z_corr = pcs.T

    monkeypatch.setattr(harmony.harmonypy, "run_harmony", lambda pcs, *a, **k: OldHarmony(pcs))
    with pytest.raises(RuntimeError, match="cells x dims"):
        harmony.run(small, "batch", seed=0, n_comps=10)
