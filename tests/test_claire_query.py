"""Query mapping with a saved CLAIRE model on real data (Kang PBMC, ../shared/data).

Train on the two control samples (the reference), save, load, embed the two stimulated
samples (the query) with the saved encoder, and transfer cell types from reference to
query by a 10-NN majority vote on the L2-normalised embedding. CLAIRE's transfer, averaged
over three training seeds, must beat unintegrated PCA's (PCA fitted on the reference,
applied to the query). Measured (CPU): seeds 0 / 1 / 2 give 0.731 / 0.708 / 0.635, mean
0.691; PCA 0.670. Most of CLAIRE's errors are CD8 T cells called CD4 T cells; most of
PCA's (and CLAIRE's) are stimulated CD14+ monocytes called FCGR3A+ monocytes.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import scanpy as sc
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from claire import Claire
from claire.bench.contract import LABEL, to_standard_raw
from claire.bench.preprocess import preprocess

# a short schedule: 100 epochs of ~2 steps (200 optimiser steps), the paper preset
SHORT = {"preset": "paper", "epochs": 100, "device": "cpu"}
SEEDS = (0, 1, 2)


def transfer_accuracy(
    ref_emb: np.ndarray, ref_labels, query_emb: np.ndarray, query_labels
) -> float:
    """Share of query cells whose 10-NN majority label among reference cells is right."""

    def unit(e: np.ndarray) -> np.ndarray:
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    knn = KNeighborsClassifier(n_neighbors=10).fit(unit(ref_emb), np.asarray(ref_labels))
    return float(np.mean(knn.predict(unit(query_emb)) == np.asarray(query_labels)))


def pca_reference_and_query(ref: ad.AnnData, query: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    """50 PCs of the z-scored HVGs, scaling and PCA fitted on the reference only."""
    x_ref, x_query = ref.X.toarray(), query[:, ref.var_names].X.toarray()
    mean, sd = x_ref.mean(0), x_ref.std(0, ddof=1)
    sd[sd == 0] = 1
    pca = PCA(50, random_state=0).fit((x_ref - mean) / sd)
    return pca.transform((x_ref - mean) / sd), pca.transform((x_query - mean) / sd)


@pytest.fixture(scope="module")
def reference_and_query(kang_raw) -> tuple[ad.AnnData, ad.AnnData]:
    raw = to_standard_raw(kang_raw, "sample_id", "cluster_id", name="kang")
    samples = sorted(raw.obs["batch"].unique())  # ctrl101, ctrl107 | stim101, stim107
    ref = preprocess(raw[raw.obs["batch"].isin(samples[:2])].copy(), n_hvg=1000, name="ref")
    query = raw[raw.obs["batch"].isin(samples[2:])].copy()
    sc.pp.normalize_total(query, target_sum=1e4)  # as preprocess; genes picked by the model
    sc.pp.log1p(query)
    return ref, query


def test_saved_model_maps_a_query_better_than_pca(reference_and_query, tmp_path):
    ref, query = reference_and_query
    ref_labels, query_labels = ref.obs[LABEL].astype(str), query.obs[LABEL].astype(str)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny network: one thread is fastest on a shared machine
    accuracy = {}
    try:
        for seed in SEEDS:
            path = tmp_path / f"kang_ctrl_seed{seed}.pt"
            Claire(seed=seed, **SHORT).fit(ref, "batch", progress=False).save(path)
            model = Claire.load(path, device="cpu")  # a fresh model: only the file is used
            ref_emb, query_emb = model.transform(ref), model.transform(query)
            accuracy[seed] = transfer_accuracy(ref_emb, ref_labels, query_emb, query_labels)
    finally:
        torch.set_num_threads(threads)
    assert query.n_vars > ref.n_vars  # the query has all genes: matched by name
    pca_ref, pca_query = pca_reference_and_query(ref, query)
    pca = transfer_accuracy(pca_ref, ref_labels, pca_query, query_labels)
    claire = float(np.mean(list(accuracy.values())))
    assert claire > pca, f"CLAIRE {accuracy} (mean {claire:.3f}) vs PCA {pca:.3f}"
