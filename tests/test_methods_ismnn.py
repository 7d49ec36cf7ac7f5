"""iSMNN in R (workflow/scripts/ismnn_integrate.R) and its Python side
(claire.bench.competitors.ismnn).

R tests skip with the reason when Rscript or Seurat is missing (apt-get install r-base-core
r-cran-seurat). The anchor search is checked against Seurat 4.3's own FindAnchors, the stop
rule's Pillai F against a hand computation, the rounds and anchors on simulated types, and the
batch mixing on Kang against PCA.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing
from sklearn.metrics import adjusted_rand_score

from claire.bench.competitors import ismnn
from claire.bench.contract import InputError
from claire.bench.methods import rscript
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts

SEURAT_MISSING = rscript.r_package_missing("Seurat")
needs_seurat = pytest.mark.skipif(
    SEURAT_MISSING is not None, reason=f"iSMNN tests need R with Seurat: {SEURAT_MISSING}"
)
SMALL_K = {"dims": 10, "k_filter": 30, "k_score": 30, "k_weight": 50, "min_cells": 0}


@pytest.fixture(scope="module")
def types4() -> ad.AnnData:
    """Two batches, four types; type4 removed from batch2 (a matched cluster that is absent)."""
    raw = simulate_counts(
        n_cells=500, n_genes=400, n_batches=2, n_cell_types=4, batch_effect=0.6, seed=4
    )
    adata = preprocess(raw, n_hvg=300)
    absent = (adata.obs["cell_type"] == "type4") & (adata.obs["batch"] == "batch2")
    return adata[~absent.to_numpy()].copy()


def run_r(code: str, folder: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """Run ``code`` (an R script) with the iSMNN script's path and ``args`` as arguments."""
    script = folder / "check.R"
    script.write_text(code)
    command = ["Rscript", "--vanilla", str(script), str(ismnn.SCRIPT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


# ---- Python side ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"labels": "oracle"},
        {"anchor_filter": "exact"},
        {"cluster_on": "umap"},
        {"iterations": 0},
        {"dims": 1},
    ],
)
def test_bad_parameters_are_rejected_before_r_runs(types4, bad):
    with pytest.raises(InputError):
        ismnn.run(types4, "batch", 0, script="/nonexistent.R", **bad)


def test_read_stats_gives_h5ad_writable_arrays(tmp_path):
    stats = {"f_batch": [2.5, None], "accepted": [True, False], "matched_clusters": ["a"]}
    (tmp_path / "uns.json").write_text(json.dumps({"ismnn": {**stats, "rounds_computed": 2}}))
    out = ismnn.read_stats(tmp_path)
    np.testing.assert_array_equal(out["f_batch"], [2.5, np.nan])
    assert out["accepted"].dtype == bool and out["accepted"].tolist() == [True, False]
    assert out["matched_clusters"].tolist() == ["a"] and out["rounds_computed"] == 2
    ad.AnnData(np.zeros((1, 1)), uns={"ismnn": out}).write_h5ad(tmp_path / "x.h5ad")


def test_label_free_clusters_recover_types_shared_by_batches_without_labels():
    raw = simulate_counts(
        n_cells=600, n_genes=400, n_batches=2, n_cell_types=3, de_prob=0.2, seed=3
    )
    adata = preprocess(raw, n_hvg=300)
    truth = adata.obs.pop("cell_type").to_numpy()  # the label-free variant must not need it
    clusters = ismnn.cluster_labels(adata, "batch", 0, "clusters")
    assert adjusted_rand_score(truth, clusters) > 0.9
    table = pd.crosstab(clusters, adata.obs["batch"].to_numpy())
    assert (table >= 30).all(axis=None)  # every cluster spans both batches: matched
    again = ismnn.cluster_labels(adata, "batch", 0, "clusters")
    np.testing.assert_array_equal(clusters, again)


def test_louvain_clusters_follow_a_planted_partition():
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=10.0, size=(4, 5))
    truth = np.repeat(np.arange(4), 50)
    points = centres[truth] + rng.normal(size=(200, 5))
    clusters = ismnn.louvain_clusters(points, n_neighbors=15, resolution=1.0, seed=0)
    assert adjusted_rand_score(truth, clusters) == 1.0


# ---- R: pieces against Seurat and hand computations (one R process) ------------------------

R_CHECKS = r"""
suppressPackageStartupMessages(library(Seurat))
args <- commandArgs(trailingOnly = TRUE)
source(args[[1]])
section <- function(name, code) {
  tryCatch({
    code
    cat(name, "OK\n")
  }, error = function(e) cat(name, "FAILED:", conditionMessage(e), "\n"))
}

section("ANCHORS", {
  data <- read_exchange(args[[2]])
  p <- data$params
  p$dims <- seq_len(p$dims)
  p$seed <- 42  # the seed of RunCCA in Seurat's FindIntegrationAnchors
  prep <- prepare_batches(data)
  b <- prep$batches
  diet <- function(o) DietSeurat(o, features = prep$features, counts = FALSE, scale.data = TRUE)
  pair <- RunCCA(diet(b[[1]]), diet(b[[2]]), features = prep$features, num.cc = max(p$dims),
                 renormalize = FALSE, rescale = FALSE, verbose = FALSE)
  pair <- L2Dim(pair, reduction = "cca")
  ref <- Seurat:::FindAnchors(object.pair = pair, assay = c("RNA", "RNA"), slot = "data",
                              cells1 = colnames(b[[1]]), cells2 = colnames(b[[2]]),
                              internal.neighbors = list(NULL, NULL), reduction = "cca.l2",
                              dims = p$dims, k.anchor = p$k_anchor, k.filter = p$k_filter,
                              k.score = p$k_score, max.features = p$max_features,
                              nn.method = "rann", verbose = FALSE)
  input <- search_input(b, setNames(data$cells$cluster, data$cells$cell), "RNA")
  cca <- pair_cca(input[[1]], input[[2]], rownames(input[[1]]$scaled), p)
  emb1 <- cca$emb[colnames(input[[1]]$scaled), ]
  emb2 <- cca$emb[colnames(input[[2]]$scaled), ]
  expr1 <- t(as.matrix(input[[1]]$data[cca$top, ]))
  expr2 <- t(as.matrix(input[[2]]$data[cca$top, ]))
  mine <- cluster_anchors(emb1, emb2, p, expr1, expr2)$anchors
  cat("anchors: Seurat", nrow(ref), "ours", nrow(mine), "\n")
  stopifnot(nrow(ref) > 50)
  stopifnot(isTRUE(all.equal(unname(as.matrix(ref)), unname(mine), tolerance = 1e-12)))

  # The package's filter: its L2Norm copy zeroes every finite value before an exact kNN.
  k <- max(p$k_anchor, p$k_score)
  pairs <- mutual_pairs(RANN::nn2(emb2, emb1, k = k)$nn.idx,
                        RANN::nn2(emb1, emb2, k = k)$nn.idx, p$k_anchor)
  l2_rows <<- function(x) {
    out <- x / sqrt(rowSums(x^2))
    out[!is.infinite(out)] <- 0
    out
  }
  package <- filter_pairs(pairs, nrow(emb2), p, expr1, expr2)
  p$anchor_filter <- "ismnn"
  tail_kept <- filter_pairs(pairs, nrow(emb2), p)
  cat("package filter keeps", nrow(package), "of", nrow(pairs), "\n")
  stopifnot(nrow(package) > 0, nrow(package) < nrow(pairs), identical(package, tail_kept))
  stopifnot(all(tail_kept[, 2] > nrow(emb2) - p$k_filter))
})

section("PILLAI", {
  d <- read.csv(args[[3]])
  cat(sprintf("PILLAI %.12f\n", pillai_f(as.matrix(d[, c("u1", "u2")]), d$cluster, d$batch)))
})
"""


def pillai_f_by_hand(y: np.ndarray, cluster: np.ndarray, batch: np.ndarray) -> float:
    """Approx-F of Pillai's trace for the batch term added after the cluster term."""

    def dummies(values: np.ndarray) -> np.ndarray:
        levels = np.unique(values)
        return (values[:, None] == levels[None, 1:]).astype(float)

    def residual_sscp(design: np.ndarray) -> np.ndarray:
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ beta
        return resid.T @ resid

    base = np.column_stack([np.ones(len(y)), dummies(cluster)])
    full = np.column_stack([base, dummies(batch)])
    error = residual_sscp(full)
    hypothesis = residual_sscp(base) - error
    trace = float(np.trace(hypothesis @ np.linalg.inv(hypothesis + error)))
    p, q = y.shape[1], full.shape[1] - base.shape[1]
    df_error = len(y) - full.shape[1]
    s, m, n = min(p, q), (abs(p - q) - 1) / 2, (df_error - p - 1) / 2
    return (2 * n + s + 1) / (2 * m + s + 1) * trace / (s - trace)


def random_umap() -> pd.DataFrame:
    """200 points in 2-d with a cluster effect and a small shift of batch y."""
    rng = np.random.default_rng(0)
    cluster = rng.choice(["a", "b", "c"], size=200)
    batch = rng.choice(["x", "y", "z"], size=200)
    y = rng.normal(size=(200, 2)) + (batch == "y")[:, None] * [0.4, -0.2]
    y += (cluster == "b")[:, None] * [2.0, 1.0]
    return pd.DataFrame({"u1": y[:, 0], "u2": y[:, 1], "cluster": cluster, "batch": batch})


@pytest.fixture(scope="module")
def r_checks(tmp_path_factory) -> str:
    """Output of R_CHECKS: the anchor search on whole batches, Pillai's F on random_umap()."""
    if SEURAT_MISSING is not None:
        pytest.skip(f"iSMNN tests need R with Seurat: {SEURAT_MISSING}")
    folder = tmp_path_factory.mktemp("ismnn_r_checks")
    raw = simulate_counts(n_cells=600, n_genes=400, n_batches=2, n_cell_types=3, seed=3)
    adata = preprocess(raw, n_hvg=300)
    params = {
        "seed": 0, "anchor_filter": "seurat", "iterations": 1, "dims": 10, "npcs": 30,
        "k_anchor": 5, "k_filter": 50, "k_score": 30, "k_weight": 50, "sd_weight": 1.0,
        "max_features": 200, "vst_features": 2000, "anchor_features": 2000, "umap_dims": 10,
    }  # fmt: skip
    one_cluster = np.full(adata.n_obs, "all")  # whole batches: where Seurat's own code applies
    rscript.export_inputs(adata, folder, "batch", params, cell_columns={"cluster": one_cluster})
    random_umap().to_csv(folder / "umap.csv", index=False)
    proc = run_r(R_CHECKS, folder, folder, folder / "umap.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.seurat
def test_anchor_search_equals_seurat_findanchors_and_the_package_filter(r_checks):
    assert "ANCHORS OK" in r_checks, r_checks


@pytest.mark.seurat
def test_pillai_f_of_the_stop_rule_matches_a_hand_computation(r_checks):
    assert "PILLAI OK" in r_checks, r_checks
    value = float(r_checks.split("PILLAI ")[1].split()[0])
    umap = random_umap()
    expected = pillai_f_by_hand(
        umap[["u1", "u2"]].to_numpy(), umap["cluster"].to_numpy(), umap["batch"].to_numpy()
    )
    assert value == pytest.approx(expected, rel=1e-9)
    assert expected > 1.0  # the batch shift is detected


# ---- R: whole runs ---------------------------------------------------------------------------


def rank_in_cluster(cells: pd.DataFrame) -> pd.Series:
    """Position (1-based, cell order) of each cell among its batch's cells of its cluster."""
    return cells.groupby(["batch", "cluster"], sort=False).cumcount() + 1


@needs_seurat
@pytest.mark.seurat
def test_ismnn_rounds_on_simulated_types_with_an_absent_one(types4, tmp_path):
    result = ismnn.run(types4, "batch", 0, keep_exchange=tmp_path, **SMALL_K)
    assert result.embedding.shape == (types4.n_obs, 30)
    assert np.isfinite(result.embedding).all()
    stats = result.uns["ismnn"]
    assert stats["label_informed"] and stats["labels"] == "truth"
    assert stats["matched_clusters"].tolist() == ["type1", "type2", "type3"]
    assert stats["dropped_clusters"].tolist() == ["type4"]  # absent from batch2: no crash

    # rounds recorded; the stop rule: F never rises over the accepted rounds, and the round
    # that ends the loop early (if any) is the first whose F exceeds the best one
    n = stats["rounds_computed"]
    assert n >= 2
    assert all(len(stats[key]) == n for key in ("f_batch", "anchors", "accepted", "k_weight"))
    accepted, f = stats["accepted"], stats["f_batch"]
    n_ok = stats["rounds_accepted"]
    assert accepted[:n_ok].all() and not accepted[n_ok:].any() and n_ok >= 1
    assert np.all(np.diff(f[:n_ok]) <= 0)
    if n_ok < n:
        assert n == n_ok + 1 and f[-1] > f[n_ok - 1]
    else:
        assert n == 5

    # anchors: one table per round, mirrored, only within one matched cluster, and (the
    # package's filter) cell2 among the last k_filter cells of its cluster in batch2
    cells = pd.read_csv(tmp_path / "cells.csv", dtype=str)
    cells["rank"] = rank_in_cluster(cells)
    size = cells.groupby(["batch", "cluster"])["cell"].transform("size")
    cells = cells.assign(size=size).set_index("cell")
    for r in range(1, n + 1):
        anchors = pd.read_csv(tmp_path / f"anchors_round{r}.csv")
        assert len(anchors) == 2 * stats["anchors"][r - 1]
        pairs = set(zip(anchors["cell1"], anchors["cell2"], strict=True))
        assert pairs == set(zip(anchors["cell2"], anchors["cell1"], strict=True))
        c1, c2 = cells.loc[anchors["cell1"]], cells.loc[anchors["cell2"]]
        assert (c1["cluster"].to_numpy() == c2["cluster"].to_numpy()).all()
        assert set(c1["cluster"]) <= {"type1", "type2", "type3"}
        assert (c1["batch"].to_numpy() != c2["batch"].to_numpy()).all()
        assert anchors["score"].between(0, 1).all()
        forward = c2[anchors["batch1"].to_numpy() == "batch1"]
        assert (forward["rank"] > forward["size"] - SMALL_K["k_filter"]).all()


@needs_seurat
@pytest.mark.seurat
def test_anchor_table_visits_batch_pairs_in_seurats_order(tmp_path):
    """With four batches the anchor table's blocks follow Seurat's / the package's pair order
    (expand.grid: (1,2), (1,3), (2,3), (1,4), (2,4), (3,4)); IntegrateData's result depends on
    the row order, so another order gives another integration than the package's."""
    raw = simulate_counts(
        n_cells=480, n_genes=300, n_batches=4, n_cell_types=2, batch_effect=0.5, seed=5
    )
    adata = preprocess(raw, n_hvg=250)
    ismnn.run(adata, "batch", 0, keep_exchange=tmp_path, iterations=1, **SMALL_K)
    batches = list(dict.fromkeys(pd.read_csv(tmp_path / "cells.csv", dtype=str)["batch"]))
    anchors = pd.read_csv(tmp_path / "anchors_round1.csv")
    forward = anchors.iloc[: len(anchors) // 2]
    blocks = list(dict.fromkeys(zip(forward["batch1"], forward["batch2"], strict=True)))
    assert blocks == [(batches[i], batches[j]) for j in range(4) for i in range(j)]


@needs_seurat
@pytest.mark.seurat
def test_ismnn_mixes_kang_better_than_pca(kang_raw):
    kang = kang_preprocessed(kang_raw)
    params = {"k_filter": 30, "k_score": 30, "k_weight": 100, "min_cells": 0}
    result = ismnn.run(kang, "batch", 0, **params)
    assert result.embedding.shape == (kang.n_obs, 30)
    assert np.isfinite(result.embedding).all()
    stats = result.uns["ismnn"]
    assert "CD8 T cells" in stats["dropped_clusters"]  # 20 and 15 cells in two samples
    assert len(stats["matched_clusters"]) == 4
    assert stats["rounds_accepted"] >= 1 and np.isfinite(stats["f_batch"]).all()
    scores, pca_scores = mixing(result.embedding, kang), baseline_mixing(kang)
    assert scores.beats(pca_scores), f"ismnn {scores} vs PCA {pca_scores}"
