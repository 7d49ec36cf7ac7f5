"""CLAIRE against the unintegrated PCA baseline (a required property of the method).

On both real datasets of ../shared/data and on the simulated partial-overlap scenario of
the default config (sim_partial5), CLAIRE's embedding must mix batches better than the
PCA baseline (higher kBET AND higher bASW) while its NMI stays at most 0.05 below PCA's.

Settings: the paper's hyper-parameters except dropout 0 (see QUALITY_PARAMS) and a
short training in epochs (preset "paper": no floor on optimiser steps, to stay fast; the
default floor of 600 steps is measured by benchmarks/claire_small_data.py). With the
paper's dropout 0.3 the evaluation-mode embedding of the first epochs is nearly collapsed
on data this small (seed cosine similarities ~0.98 whether the seed is true or false),
which cripples the refinement; on Kang PBMC its bASW then stays below PCA's. On
sim_partial5 about a third of the seeds are false (cell types shared by only some
batches), so the NMI decays with longer training; the check uses 10 epochs.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import yaml
from helpers.workflow import ROOT

from claire import Claire
from claire.bench.contract import to_standard_raw
from claire.bench.methods import pca
from claire.bench.metrics import batch_asw, kbet, nmi_ari
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts
from claire.bench.subsample import stratified_subsample
from claire.pairs import find_seeds
from claire.params import ClaireParams

QUALITY_PARAMS = {"preset": "paper", "dropout": 0.0, "device": "cpu", "seed": 0}
NMI_TOLERANCE = 0.05


def scores(embedding: np.ndarray, adata: ad.AnnData) -> dict[str, float]:
    batches, labels = adata.obs["batch"].to_numpy(), adata.obs["cell_type"].to_numpy()
    return {
        "basw": batch_asw(embedding, batches, labels),
        "kbet": kbet(embedding, batches),
        "nmi": nmi_ari(embedding, labels, seed=0).nmi,
    }


def check_beats_pca(adata: ad.AnnData, epochs: int) -> None:
    baseline = scores(pca.run(adata, "batch", 0), adata)
    model = Claire(epochs=epochs, **QUALITY_PARAMS).fit(
        adata, "batch", label_key="cell_type", progress=False
    )
    ours = scores(model.embedding_, adata)
    report = f"CLAIRE {ours} vs PCA {baseline}"
    assert ours["kbet"] > baseline["kbet"], report
    assert ours["basw"] > baseline["basw"], report
    assert ours["nmi"] >= baseline["nmi"] - NMI_TOLERANCE, report
    refinement = model.summary()["refinement"]
    assert refinement["true_frac_after"] >= refinement["true_frac_before"], refinement


def test_claire_beats_pca_on_kang_pbmc(kang_raw):
    raw = to_standard_raw(kang_raw, "sample_id", "cluster_id", name="kang")
    check_beats_pca(preprocess(raw, n_hvg=1000, name="kang"), epochs=30)


def test_claire_beats_pca_on_cellbench(cellbench_raw):
    raw = to_standard_raw(cellbench_raw, "batch", "celltype", name="cellbench")
    check_beats_pca(preprocess(raw, n_hvg=2000, name="cellbench"), epochs=30)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "known open problem (issues 4 and 16): on the recalibrated simulator (b5c72fe) PCA's "
        "NMI on sim_partial5 is ~1.0 and CLAIRE's 10-epoch NMI 0.92-0.94 (82 % true seeds); "
        "kBET and bASW beat PCA. strict: this test fails loudly once CLAIRE meets the target"
    ),
)
def test_claire_beats_pca_on_simulated_partial_overlap():
    """The default config's sim_partial5 entry, read from config/config.yaml (one place)."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    entry = config["datasets"]["sim_partial5"]
    source = {k: v for k, v in entry["source"].items() if k != "type"}
    raw = simulate_counts(**source)
    check_beats_pca(preprocess(raw, n_hvg=entry["n_hvg"], name="sim_partial5"), epochs=10)


def small_two_batch_kang(kang_raw: ad.AnnData) -> ad.AnnData:
    """500 Kang cells of the samples ctrl101 and stim101 (``small2`` of the benchmarks)."""
    raw = to_standard_raw(kang_raw, "sample_id", "cluster_id", name="small2")
    raw = raw[raw.obs["batch"].isin(["ctrl101", "stim101"])].copy()
    raw.obs["batch"] = raw.obs["batch"].cat.remove_unused_categories()
    return preprocess(stratified_subsample(raw, 500, seed=0), n_hvg=1000, name="small2")


def test_default_claire_beats_pca_on_a_small_two_batch_real_set(kang_raw):
    """The default run's settings (30 epochs raised to 600 steps, seed filter within 10 % of
    each batch) on 500 cells: measured 0.961 / 0.808 / 0.773 vs PCA 0.868 / 0.154 / 0.772;
    with Seurat's fixed filter NMI ended 0.07 below PCA's (README, "Presets and small data")."""
    adata = small_two_batch_kang(kang_raw)
    batches, labels = adata.obs["batch"].to_numpy(), adata.obs["cell_type"].to_numpy()
    fixed = find_seeds(adata.X, batches, k_filter_share=None)
    shared = find_seeds(adata.X, batches, k_filter_share=ClaireParams().k_filter_share)
    true_share = [np.mean(labels[s[:, 0]] == labels[s[:, 1]]) for s in (fixed, shared)]
    assert true_share[1] > true_share[0] + 0.05, true_share
    baseline = scores(pca.run(adata, "batch", 0), adata)
    model = Claire(epochs=30, dropout=0.3, device="cpu", seed=0).fit(adata, "batch", progress=False)
    ours = scores(model.embedding_, adata)
    report = f"CLAIRE {ours} vs PCA {baseline}"
    assert sum(model.summary()["history"]["steps"]) >= 600
    assert ours["kbet"] > baseline["kbet"] + 0.3, report
    assert ours["basw"] > baseline["basw"], report
    assert ours["nmi"] >= baseline["nmi"] - NMI_TOLERANCE, report
