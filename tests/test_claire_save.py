"""Saved CLAIRE models: save -> load -> transform, version and gene checks, the CLI."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from helpers.data import simulated_data
from helpers.workflow import run_claire_cli

from claire import Claire, __version__
from claire.genes import align_genes

FAST = {"preset": "paper", "epochs": 3, "refine_epoch": 2, "device": "cpu"}


@pytest.fixture(scope="module")
def adata() -> ad.AnnData:
    x, batch, labels = simulated_data(n_cells=600, n_genes=300, n_batches=2)
    obs = pd.DataFrame(
        {"sample": batch, "type": labels}, index=[f"c{i}" for i in range(len(batch))]
    )
    return ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(x.shape[1])]))


@pytest.fixture(scope="module")
def fitted(adata) -> Claire:
    return Claire(seed=0, **FAST).fit(adata, "sample", progress=False)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("model") / "claire.pt")


def test_save_load_transform_is_bit_identical_on_cpu(adata, fitted, saved):
    state = torch.get_rng_state()
    loaded = Claire.load(saved, device="cpu")
    assert torch.equal(state, torch.get_rng_state())  # loading draws no random numbers
    np.testing.assert_array_equal(loaded.transform(adata), fitted.transform(adata))
    np.testing.assert_array_equal(loaded.transform(adata), fitted.embedding_)
    # by name: shuffled genes, an extra gene and a dense matrix change nothing
    shuffled = adata[:, np.random.default_rng(0).permutation(adata.n_vars)].copy()
    extra = ad.AnnData(
        X=sp.hstack([shuffled.X, sp.csr_matrix(np.ones((adata.n_obs, 1)))]).toarray(),
        obs=adata.obs,
        var=pd.DataFrame(index=[*shuffled.var_names, "unknown"]),
    )
    np.testing.assert_array_equal(loaded.transform(extra), fitted.embedding_)


def test_loaded_model_keeps_parameters_genes_and_version(fitted, saved):
    loaded = Claire.load(saved, device="cpu")
    assert loaded.preset == "paper"
    assert {**loaded.params.as_dict(), "device": "cpu"} == fitted.params.as_dict()
    assert list(loaded.var_names_) == list(fitted.var_names_)
    info = loaded.summary()
    assert info["saved_by"] == __version__ and info["loaded_from"] == str(saved)
    assert info["n_genes"] == len(fitted.var_names_)
    with pytest.raises(RuntimeError, match="loaded from"):
        _ = loaded.embedding_
    for key, value in fitted.network_.state_dict().items():
        assert torch.equal(value, loaded.network_.state_dict()[key])


def test_model_from_another_version_is_refused(saved, tmp_path):
    payload = torch.load(saved, weights_only=True)
    payload["claire_version"] = "0.0.1"
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(ValueError, match=r"saved by claire 0\.0\.1.*this is claire"):
        Claire.load(tmp_path / "old.pt")


def test_damaged_or_foreign_files_are_refused(saved, tmp_path):
    payload = torch.load(saved, weights_only=True)
    payload["genes"] = payload["genes"][:-1]
    torch.save(payload, tmp_path / "genes.pt")
    with pytest.raises(ValueError, match="gene names"):
        Claire.load(tmp_path / "genes.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a CLAIRE model file"):
        Claire.load(tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ValueError, match="not a CLAIRE model file"):
        Claire.load(tmp_path / "text.pt")
    with pytest.raises(FileNotFoundError):
        Claire.load(tmp_path / "absent.pt")
    with pytest.raises(RuntimeError, match="not fitted"):
        Claire().save(tmp_path / "unfitted.pt")


def test_missing_genes_are_named_or_filled_with_zeros(adata, fitted, saved):
    loaded = Claire.load(saved, device="cpu")
    lacking = adata[:, 3:].copy()
    with pytest.raises(ValueError, match=r"lack 3 of the model's \d+ genes: g0, g1, g2"):
        loaded.transform(lacking)
    zeroed = adata.copy()
    zeroed.X = sp.csr_matrix(zeroed.X.toarray() * (np.arange(adata.n_vars) >= 3))
    np.testing.assert_array_equal(
        loaded.transform(lacking, fill_missing=True), fitted.transform(zeroed)
    )


def test_align_genes_by_name():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(align_genes(x, list("abcd"), list("db")), x[:, [3, 1]])
    out = align_genes(sp.csr_matrix(x), list("abcd"), list("dz"), fill_missing=True)
    np.testing.assert_array_equal(out.toarray(), np.c_[x[:, 3], np.zeros(3)])
    with pytest.raises(ValueError, match="more than once"):
        align_genes(x, list("abca"), list("ab"))
    many = [f"m{i}" for i in range(30)]
    with pytest.raises(ValueError, match=r"lack 30 .*m19, \.\.\. \(10 more\)"):
        align_genes(x, list("abcd"), many)


def test_cli_saves_a_model_and_embeds_with_it(adata, tmp_path):
    train, query = adata[:400].copy(), adata[400:].copy()
    train.write_h5ad(tmp_path / "train.h5ad")
    query.write_h5ad(tmp_path / "query.h5ad")
    model = tmp_path / "model" / "claire.pt"
    flags = ["--preset", "paper", "--epochs", "2", "--device", "cpu", "--quiet"]
    done = run_claire_cli(tmp_path / "train.h5ad", tmp_path / "t.h5ad", "--batch-key", "sample",
                   "--save-model", model, *flags)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_claire_cli(
        tmp_path / "query.h5ad", tmp_path / "q.h5ad", "--model", model, "--device", "cpu"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = ad.read_h5ad(tmp_path / "q.h5ad")
    expected = Claire.load(model, device="cpu").transform(query)
    np.testing.assert_array_equal(out.obsm["X_emb"], expected)
    assert out.uns["claire"]["loaded_from"] == str(model)
    query[:, 2:].copy().write_h5ad(tmp_path / "lacking.h5ad")
    done = run_claire_cli(tmp_path / "lacking.h5ad", tmp_path / "l.h5ad", "--model", model)
    assert done.returncode == 2 and "lack 2 of the model's" in done.stderr
    done = run_claire_cli(tmp_path / "lacking.h5ad", tmp_path / "l.h5ad", "--model", model,
                   "--fill-missing-genes", "--device", "cpu")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_claire_cli(tmp_path / "query.h5ad", tmp_path / "x.h5ad", "--device", "cpu")
    assert done.returncode == 2 and "--batch-key is required" in done.stderr
