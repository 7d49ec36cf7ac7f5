"""Training loop, reproducibility, ablations and the public API (fit/transform, integrate)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
from helpers.data import simulated_data

from claire import Claire, integrate
from claire.device import resolve_device
from claire.params import ClaireParams
from claire.train import train_claire

# the paper preset: epochs as given, no floor on optimiser steps (claire.schedule)
FAST = {"preset": "paper", "epochs": 3, "refine_epoch": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def adata() -> ad.AnnData:
    x, batch, labels = simulated_data(n_cells=900, n_genes=400)
    obs = pd.DataFrame(
        {"sample": batch, "type": labels}, index=[f"c{i}" for i in range(len(batch))]
    )
    var = pd.DataFrame(index=[f"g{i}" for i in range(x.shape[1])])
    return ad.AnnData(X=x, obs=obs, var=var)


@pytest.fixture(scope="module")
def fitted(adata) -> Claire:
    return Claire(seed=0, snapshot_epochs=[0, 1, 3], **FAST).fit(
        adata, "sample", label_key="type", progress=False
    )


def test_same_seed_gives_bit_identical_embedding(adata, fitted):
    again = Claire(seed=0, snapshot_epochs=[0, 1, 3], **FAST).fit(adata, "sample", progress=False)
    assert np.array_equal(fitted.embedding_, again.embedding_)
    other = Claire(seed=1, **FAST).fit(adata, "sample", progress=False)
    assert not np.allclose(fitted.embedding_, other.embedding_)


def test_embedding_snapshots_and_history(adata, fitted):
    emb = fitted.embedding_
    assert emb.shape == (adata.n_obs, 128) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, rtol=1e-5)
    assert sorted(fitted.snapshots_) == [0, 1, 3]
    np.testing.assert_array_equal(fitted.snapshots_[3], emb)
    assert not np.allclose(fitted.snapshots_[0], fitted.snapshots_[1])  # training moves it
    summary = fitted.summary()
    assert summary["history"]["epoch"] == [1, 2, 3]
    assert all(np.isfinite(summary["history"]["loss"]))
    assert summary["device"] == "cpu" and summary["snapshot_epochs"] == [0, 1, 3]
    refinement = summary["refinement"]
    assert refinement["epoch"] == 2
    assert 0 < refinement["n_seeds_after"] <= refinement["n_seeds_before"] == summary["n_seeds"]
    assert 0 <= refinement["true_frac_before"] <= 1
    assert summary["timings"]["cells_per_second"] > 0
    initial, final = fitted.result_.initial_seeds, fitted.result_.final_seeds
    assert len(initial) == summary["n_seeds"] and len(final) == refinement["n_seeds_after"]
    kept = {tuple(pair) for pair in final}
    assert kept <= {tuple(pair) for pair in initial}  # refinement only removes seeds


def test_training_lowers_the_loss(adata):
    result = train_claire(
        adata.X,
        adata.obs["sample"].to_numpy(),
        ClaireParams.preset("paper", epochs=10, refine_epoch=None, lr=1e-3, device="cpu"),
        progress=False,
    )
    losses = [row["loss"] for row in result.history]
    # epoch 1 still sees the random initial queue; from epoch 2 on it holds real keys
    assert losses[-1] < losses[1] - 0.2
    assert all(np.isfinite(losses))


def test_transform_matches_training_embedding_and_checks_genes(adata, fitted):
    np.testing.assert_allclose(fitted.transform(adata), fitted.embedding_, atol=1e-6)
    # genes are matched by name: another order gives the same embedding
    np.testing.assert_array_equal(fitted.transform(adata[:, ::-1].copy()), fitted.embedding_)
    with pytest.raises(ValueError, match="genes"):
        fitted.transform(adata[:, 1:].copy())
    with pytest.raises(RuntimeError, match="not fitted"):
        Claire().transform(adata)


def test_integrate_writes_obsm_and_uns_scanpy_style(adata, tmp_path):
    work = adata.copy()
    assert integrate(work, "sample", progress=False, snapshot_epochs=[2], **FAST) is None
    assert work.obsm["X_claire"].shape == (work.n_obs, 128)
    assert "X_claire_epoch_2" in work.obsm
    assert set(work.uns["claire"]) >= {"refinement", "snapshot_epochs", "device", "n_seeds"}
    work.write_h5ad(tmp_path / "integrated.h5ad")  # uns["claire"] must be storable
    back = ad.read_h5ad(tmp_path / "integrated.h5ad")
    assert back.uns["claire"]["refinement"]["epoch"] == 2
    copy = integrate(adata, "sample", key_added="X_c", copy=True, progress=False, **FAST)
    assert "X_c" in copy.obsm and "X_c" not in adata.obsm
    np.testing.assert_array_equal(copy.obsm["X_c"], work.obsm["X_claire"])


def test_lr_decays_at_milestones(adata):
    result = train_claire(
        adata.X,
        adata.obs["sample"].to_numpy(),
        ClaireParams.preset("paper", epochs=3, lr_milestones=(2,), refine_epoch=None, device="cpu"),
        progress=False,
    )
    assert [row["lr"] for row in result.history] == pytest.approx([1e-4, 1e-4, 1e-5])


def test_var2_keeps_all_seeds_and_var1_trains_on_every_cell(adata):
    batch = adata.obs["sample"].to_numpy()
    params = ClaireParams.preset("paper", epochs=2, refine_epoch=1, variant="var2")
    var2 = train_claire(adata.X, batch, params, progress=False)
    assert var2.refinement["epoch"] is None
    assert var2.refinement["n_seeds_after"] == var2.refinement["n_seeds_before"]
    np.testing.assert_array_equal(var2.final_seeds, var2.initial_seeds)
    var1 = train_claire(
        adata.X,
        batch,
        ClaireParams.preset("paper", epochs=2, variant="var1", batch_size=128),
        progress=False,
    )
    assert var1.history[0]["steps"] == adata.n_obs // 128
    assert var1.embedding.shape == (adata.n_obs, 128)


def test_bad_inputs_raise_clear_errors(adata):
    x = adata.X
    with pytest.raises(ValueError, match="two batches"):
        train_claire(x, np.zeros(adata.n_obs), ClaireParams(epochs=1), progress=False)
    with pytest.raises(ValueError, match="missing"):
        batch = adata.obs["sample"].to_numpy().astype(object)
        batch[0] = None
        train_claire(x, batch, ClaireParams(epochs=1), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        dense = x.toarray()
        dense[0, 0] = np.nan
        train_claire(dense, adata.obs["sample"].to_numpy(), ClaireParams(epochs=1))
    with pytest.raises(ValueError, match="unknown CLAIRE parameter"):
        Claire(epoch=3)
    with pytest.raises(ValueError, match="snapshot_epochs"):
        ClaireParams(epochs=3, snapshot_epochs=(5,))
    with pytest.raises(ValueError, match="temperature"):
        ClaireParams(temperature=0)
    with pytest.raises(ValueError, match="variant"):
        ClaireParams(variant="var3")
    with pytest.raises(KeyError, match="batch key"):
        Claire(**FAST).fit(adata, "nope")


def test_device_resolution():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_params_round_trip():
    params = ClaireParams(epochs=7, lr_milestones=[10], snapshot_epochs=[1, 7], temperature=0.07)
    assert ClaireParams.from_dict(params.as_dict()) == params
    assert params.as_dict()["snapshot_epochs"] == [1, 7]
