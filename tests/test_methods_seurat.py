"""Seurat v4 CCA integration in R, fed through files; the generic rscript runner and the
worked example of adding an R method (tests/plugins/toy_method.R plus a registry entry).

Tests that need R skip with the reason when Rscript or Seurat is missing; .ci/run
installs them from Debian (apt-get install r-base-core r-cran-seurat).
"""

from __future__ import annotations

import json
import shutil

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.io
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing
from helpers.workflow import ROOT, integration_path, run_snakemake, tiny_dataset

from claire.bench.contract import InputError
from claire.bench.methods import rscript, seurat
from claire.bench.methods.base import run_method
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts

SEURAT_MISSING = rscript.r_package_missing("Seurat")
needs_seurat = pytest.mark.skipif(
    SEURAT_MISSING is not None, reason=f"Seurat tests need R with Seurat: {SEURAT_MISSING}"
)
needs_rscript = pytest.mark.skipif(
    shutil.which("Rscript") is None, reason="Rscript is not on PATH (apt-get install r-base-core)"
)


@pytest.fixture(scope="module")
def small() -> ad.AnnData:
    raw = simulate_counts(n_cells=240, n_genes=300, n_batches=3, n_cell_types=3, seed=6)
    adata = preprocess(raw, n_hvg=200)
    # names Seurat would reject: "_" (it turns them into "-"), here colliding with another gene
    adata.var_names = [f"G_{i}" if i % 2 else f"G-{i + 1}" for i in range(adata.n_vars)]
    return adata


def test_export_writes_genes_by_cells_matrices_and_tables(small, tmp_path):
    rscript.export_inputs(small, tmp_path, "batch", {"seed": 1, "dims": 10})
    counts = scipy.io.mmread(tmp_path / "counts.mtx").tocsr()
    logcounts = scipy.io.mmread(tmp_path / "logcounts.mtx").tocsr()
    assert counts.shape == logcounts.shape == (small.n_vars, small.n_obs)
    np.testing.assert_array_equal(counts.toarray(), small.layers["counts"].T.toarray())
    np.testing.assert_allclose(logcounts.toarray(), small.X.T.toarray(), rtol=1e-6)
    genes = pd.read_csv(tmp_path / "genes.csv")
    assert list(genes["gene"]) == list(small.var_names)
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert list(cells["batch"]) == list(small.obs["batch"].astype(str))
    assert cells["cell"].is_unique
    assert json.loads((tmp_path / "params.json").read_text()) == {"seed": 1, "dims": 10}


def test_read_embedding_restores_the_cell_order(tmp_path):
    emb = np.arange(12, dtype=np.float32).reshape(4, 3)
    table = pd.DataFrame(emb, columns=["PC_1", "PC_2", "PC_3"])
    table.insert(0, "cell", [f"cell_{i}" for i in range(4)])
    table.iloc[[2, 0, 3, 1]].to_csv(tmp_path / "embedding.csv", index=False)
    np.testing.assert_array_equal(rscript.read_embedding(tmp_path, 4), emb)
    with pytest.raises(RuntimeError, match="exactly the 5 exported cells"):
        rscript.read_embedding(tmp_path, 5)


def test_unknown_parameter_is_rejected_before_r_runs(small):
    with pytest.raises(InputError, match="unknown parameters"):
        seurat.run(small, "batch", seed=0, dimz=30)


@needs_seurat
def test_seurat_mixes_batches_better_than_pca_on_real_data(kang_raw):
    kang = kang_preprocessed(kang_raw)
    result = run_method(kang, "seurat", seurat.run, {}, seed=0, record_errors=False)
    emb = result.obsm["X_emb"]
    assert emb.shape == (kang.n_obs, 50)
    assert np.isfinite(emb).all()
    scores, pca_scores = mixing(emb, kang), baseline_mixing(kang)
    assert scores.beats(pca_scores), f"seurat {scores} vs PCA {pca_scores}"


@needs_seurat
def test_seurat_is_reproducible_with_its_seed(small):
    params = {"dims": 10, "npcs": 10, "k_filter": 50, "k_weight": 50}
    first = seurat.run(small, "batch", seed=2, **params)
    again = seurat.run(small, "batch", seed=2, **params)
    assert first.shape == (small.n_obs, 10)
    np.testing.assert_allclose(first, again, rtol=1e-5, atol=1e-5)


@needs_rscript
def test_r_error_is_raised_with_r_message(small, tmp_path):
    script = tmp_path / "broken.R"
    script.write_text('stop("no anchors found between batches")\n')
    with pytest.raises(RuntimeError, match="no anchors found"):
        rscript.run_r_method(small, "batch", 0, script)


@needs_seurat
@pytest.mark.slow
def test_workflow_runs_r_methods_and_records_a_failing_one(tmp_path):
    """Seurat (built-in registry entry), the toy R method (one R file + one registry entry,
    the README's worked example) and a failing R script through the real workflow."""
    broken = tmp_path / "broken.R"
    broken.write_text('stop("this R method always fails")\n')
    registry = {
        "toy_r": {
            "runner": "rscript",
            "script": str(ROOT / "tests" / "plugins" / "toy_method.R"),
            "label": "Toy (R)",
            "family": "external",
        },
        "r_broken": {"runner": "rscript", "script": str(broken)},
    }
    config = {
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["seurat", "toy_r", "r_broken"],
        "method_params": {
            "seurat": {
                "dims": 10,
                "npcs": 20,
                "k_anchor": 5,
                "k_filter": 100,
                "k_score": 30,
                "k_weight": 50,
            },
            "toy_r": {"n_comps": 6},
        },
    }
    targets = tuple(integration_path("tiny", m) for m in config["methods"])
    proc = run_snakemake(tmp_path, config, targets=targets, registry=registry)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = ad.read_h5ad(tmp_path / integration_path("tiny", "seurat"))
    assert result.uns["integration"]["status"] == "ok"
    assert result.obsm["X_emb"].shape == (300, 20)
    assert json.loads(result.uns["integration"]["params"])["dims"] == 10
    log = (tmp_path / integration_path("tiny", "seurat", kind="log")).read_text()
    assert "FindIntegrationAnchors" in log
    bench = tmp_path / integration_path("tiny", "seurat", kind="benchmark")
    assert bench.read_text().startswith("s\t")
    toy = ad.read_h5ad(tmp_path / integration_path("tiny", "toy_r"))
    assert toy.uns["integration"]["status"] == "ok"
    assert toy.obsm["X_emb"].shape == (300, 6)
    assert toy.uns["toy_r"]["batches"] == 2  # the script's uns.json
    batches = toy.obs["batch"].to_numpy()
    for batch in np.unique(batches):
        np.testing.assert_allclose(toy.obsm["X_emb"][batches == batch].mean(axis=0), 0, atol=1e-4)
    failed = ad.read_h5ad(tmp_path / integration_path("tiny", "r_broken"))
    assert failed.uns["integration"]["status"] == "failed"
    assert "this R method always fails" in failed.uns["integration"]["error"]
