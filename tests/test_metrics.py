"""Metrics equal scib / scib-metrics / scanpy and plain reference computations on the same input."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scib
from helpers.data import blobs
from helpers.workflow import CELLBENCH
from scipy.stats import chi2
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_samples
from sklearn.neighbors import NearestNeighbors

from claire.bench.metrics import (
    PAPER_RESOLUTIONS,
    MetricSettings,
    batch_asw,
    batch_asw_split,
    compute_all,
    kbet,
    label_asw,
    nmi_ari,
)
from claire.bench.metrics import clustering as clustering_module
from claire.bench.metrics.pairwise import pairwise_summary


@pytest.fixture(scope="module")
def data() -> ad.AnnData:
    return blobs()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_basw_equals_scib_silhouette_batch(data, dtype):
    ours = batch_asw(data.obsm["X_emb"], data.obs["batch"], data.obs["cell_type"], dtype=dtype)
    theirs = scib.metrics.silhouette_batch(data, "batch", "cell_type", "X_emb", verbose=False)
    assert ours == pytest.approx(float(theirs), abs=1e-6)


def test_basw_equals_scib_metrics_silhouette_batch(data):
    import scib_metrics

    theirs = scib_metrics.silhouette_batch(
        data.obsm["X_emb"], data.obs["cell_type"].to_numpy(), data.obs["batch"].to_numpy()
    )
    ours = batch_asw(data.obsm["X_emb"], data.obs["batch"], data.obs["cell_type"])
    assert ours == pytest.approx(float(theirs), abs=1e-5)  # scib-metrics computes in float32


def test_basw_leaves_out_cell_types_of_a_single_batch(data):
    """Dropping the skipped types ('solo': one batch, 'one_each': a cell per batch) is a no-op."""
    keep = ~data.obs["cell_type"].isin(["solo", "one_each"]).to_numpy()
    full = batch_asw(data.obsm["X_emb"], data.obs["batch"], data.obs["cell_type"])
    sub = batch_asw(data.obsm["X_emb"][keep], data.obs["batch"][keep], data.obs["cell_type"][keep])
    assert full == pytest.approx(sub, abs=1e-7)  # float32 products: rounding only
    # ... while the single-batch type would change the score if it were counted
    solo = data.obs["cell_type"].eq("solo").to_numpy()
    relabelled = data.obs["cell_type"].astype(str).where(~solo, "t1")
    assert batch_asw(data.obsm["X_emb"], data.obs["batch"], relabelled) != pytest.approx(full)


def test_basw_is_nan_when_no_cell_type_spans_two_batches():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(60, 4))
    batches = np.repeat(["a", "b", "c"], 20)
    labels = np.repeat(["x", "y", "z"], 20)  # every type lives in one batch
    assert np.isnan(batch_asw(emb, batches, labels))


def test_basw_split_adds_up_to_basw_and_matches_sklearns_signed_silhouettes(data):
    emb, batches, labels = data.obsm["X_emb"], data.obs["batch"], data.obs["cell_type"]
    split = batch_asw_split(emb, batches, labels, dtype="float64")
    assert split.basw == pytest.approx(batch_asw(emb, batches, labels, dtype="float64"), abs=1e-12)
    assert split.apart + split.overlap == pytest.approx(1.0 - split.basw, abs=1e-12)
    apart, overlap = [], []
    scored = set(labels) - {"solo", "one_each"}  # the types bASW skips (see below)
    for label in sorted(scored):
        cells = (labels == label).to_numpy()
        sil = silhouette_samples(emb[cells], batches[cells])
        apart.append(np.clip(sil, 0, None).mean())
        overlap.append(np.clip(-sil, 0, None).mean())
    assert split.apart == pytest.approx(np.mean(apart), abs=1e-9)
    assert split.overlap == pytest.approx(np.mean(overlap), abs=1e-9)


def test_basw_split_tells_separated_batches_from_a_batch_spread_over_another():
    """Same bASW shortfall, opposite geometry: the split tells them apart."""
    rng = np.random.default_rng(0)
    labels = np.repeat("t", 200)
    batches = np.repeat(["a", "b"], 100)
    apart = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal([6, 0], 1, (100, 2))])
    split = batch_asw_split(apart, batches, labels)
    assert split.apart > 0.5 and split.overlap < 1e-3  # a rare cell in the gap
    # batch a compact at the centre, batch b on a ring around it: each b cell is nearer
    # to a (mean distance ~ ring radius) than to the rest of b (~ 1.27 x radius)
    angle = rng.uniform(0, 2 * np.pi, 100)
    ring = np.c_[np.cos(angle), np.sin(angle)] * 5
    spread = np.concatenate([rng.normal(0, 0.3, (100, 2)), ring])
    split = batch_asw_split(spread, batches, labels)
    sil = silhouette_samples(spread, batches)
    assert (sil[batches == "b"] < -0.05).all() and (sil[batches == "a"] > 0.5).all()
    # the ring's cells make the whole overlap part (half of the cells, mean |s| ~ 0.2)
    assert split.overlap == pytest.approx(-sil[batches == "b"].sum() / 200, abs=1e-5)
    assert split.overlap > 0.05


def test_casw_equals_scib_silhouette(data):
    ours = label_asw(data.obsm["X_emb"], data.obs["cell_type"])
    theirs = scib.metrics.silhouette(data, "cell_type", "X_emb")
    assert ours == pytest.approx(float(theirs), abs=1e-6)


def test_knn_is_exact_and_starts_with_the_cell(data):
    emb = data.obsm["X_emb"]
    codes = data.obs["cell_type"].cat.codes.to_numpy().astype(np.int64)
    summary = pairwise_summary(emb, codes, np.zeros(len(codes), dtype=np.int64), k=15)
    dist, idx = NearestNeighbors(n_neighbors=15).fit(emb.astype(np.float64)).kneighbors()
    assert (summary.knn_indices[:, 0] == np.arange(len(codes))).all()
    np.testing.assert_array_equal(summary.knn_indices[:, 1:], idx[:, :14])
    np.testing.assert_allclose(summary.knn_distances[:, 1:], dist[:, :14], atol=1e-4)


def _codes(data) -> tuple[np.ndarray, np.ndarray]:
    labels = data.obs["cell_type"].cat.codes.to_numpy().astype(np.int64)
    return labels, data.obs["batch"].cat.codes.to_numpy().astype(np.int64)


def test_pairwise_pass_is_identical_with_threads(data):
    """The thread count never changes a number (same tiles, other threads)."""
    labels, batches = _codes(data)
    emb = data.obsm["X_emb"]
    tiles = {"row_block": 64, "col_block": 100}
    one = pairwise_summary(emb, labels, batches, k=15, n_jobs=1, **tiles)
    two = pairwise_summary(emb, labels, batches, k=15, n_jobs=2, **tiles)
    for field in ("knn_indices", "knn_distances", "label_sums", "batch_sums"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))


@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-12, 1e-9), (np.float32, 1e-5, 1e-4)])
def test_pairwise_pass_agrees_with_small_tiles(data, dtype, rtol, atol):
    """Tile shapes only change the BLAS summation order of the Gram matrix: results agree
    to the precision of ``dtype`` (bit-identity depends on the CPU's BLAS kernels)."""
    labels, batches = _codes(data)
    emb = data.obsm["X_emb"]
    one = pairwise_summary(emb, labels, batches, k=15, dtype=dtype)
    tiled = pairwise_summary(emb, labels, batches, k=15, dtype=dtype, row_block=64, col_block=100)
    if dtype == np.float64:
        np.testing.assert_array_equal(one.knn_indices, tiled.knn_indices)
    # distances from a Gram matrix: |a|^2 + |b|^2 - 2ab cancels, hence an absolute bound
    np.testing.assert_allclose(one.knn_distances, tiled.knn_distances, rtol=rtol, atol=atol)
    np.testing.assert_allclose(one.label_sums, tiled.label_sums, rtol=rtol)
    np.testing.assert_allclose(one.batch_sums, tiled.batch_sums, rtol=rtol)


def reference_kbet(emb: np.ndarray, batches: np.ndarray, k: int, alpha: float) -> float:
    """scETM's calculate_kbet, written out: exact k-NN with the cell, chi-square per cell."""
    _, idx = NearestNeighbors(n_neighbors=k - 1).fit(emb.astype(np.float64)).kneighbors()
    idx = np.hstack([np.arange(len(emb))[:, None], idx])
    batch_values = pd.Categorical(batches)
    ideal = pd.Series(batch_values).value_counts(normalize=True, sort=False).to_numpy()
    dof = ideal.size - 1
    accepted = 0
    for row in idx:
        observed = pd.Series(batch_values[row]).value_counts(sort=False).to_numpy()
        stat = np.sum((observed - ideal * k) ** 2 / (ideal * k))
        accepted += (1 - chi2.cdf(stat, dof)) >= alpha
    return accepted / len(emb)


@pytest.mark.parametrize(("k", "alpha"), [(15, 0.05), (30, 0.01)])
def test_kbet_equals_reference(data, k, alpha):
    emb, batches = data.obsm["X_emb"], data.obs["batch"].to_numpy()
    ours = kbet(emb, batches, k=k, alpha=alpha)
    assert ours == pytest.approx(reference_kbet(emb, batches, k, alpha), abs=1e-12)
    assert 0.0 < ours < 1.0  # the batch shift makes some neighbourhoods fail


def test_kbet_accepts_well_mixed_and_rejects_separated_batches():
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(400, 5))
    batches = rng.choice(["a", "b"], size=400)
    assert kbet(emb, batches) > 0.85
    apart = emb + np.where(batches == "a", 6.0, 0.0)[:, None]  # each batch its own blob
    assert kbet(apart, batches) == 0.0


def reference_louvain_sweep(adata: ad.AnnData, resolutions) -> tuple[float, float, float, list]:
    """scanpy's own neighbours + louvain per resolution, sklearn NMI/ARI, highest NMI kept."""
    adata = adata.copy()
    sc.pp.neighbors(adata, n_neighbors=15, use_rep="X_emb")
    scores = []
    for res in resolutions:
        sc.tl.louvain(adata, resolution=res, key_added="cl")
        truth, found = adata.obs["cell_type"], adata.obs["cl"]
        scores.append(
            (normalized_mutual_info_score(truth, found), adjusted_rand_score(truth, found))
        )
    best = int(np.argmax([s[0] for s in scores]))
    return scores[best][0], scores[best][1], resolutions[best], scores


def test_louvain_sweep_equals_scanpy_reference_and_scib(data):
    resolutions = list(PAPER_RESOLUTIONS)
    result = nmi_ari(data.obsm["X_emb"], data.obs["cell_type"], resolutions=resolutions, seed=0)
    nmi, ari, res, scores = reference_louvain_sweep(data, resolutions)
    assert (result.nmi, result.ari, result.resolution) == pytest.approx((nmi, ari, res), abs=1e-12)
    np.testing.assert_allclose(result.table[["nmi", "ari"]].to_numpy(), scores, atol=1e-12)

    scib_data = data.copy()
    sc.pp.neighbors(scib_data, n_neighbors=15, use_rep="X_emb")
    res_max, nmi_max, _ = scib.metrics.opt_louvain(
        scib_data, label_key="cell_type", cluster_key="cl", verbose=False
    )
    assert (result.resolution, result.nmi) == pytest.approx((res_max, nmi_max), abs=1e-12)
    assert result.ari == pytest.approx(
        adjusted_rand_score(scib_data.obs["cell_type"], scib_data.obs["cl"]), abs=1e-12
    )


def test_louvain_sweep_in_processes_matches_serial(data, monkeypatch):
    resolutions = [0.2, 0.6, 1.0, 1.4]
    serial = nmi_ari(data.obsm["X_emb"], data.obs["cell_type"], resolutions=resolutions)
    monkeypatch.setattr(clustering_module, "_MIN_CELLS_FOR_PROCESSES", 0)
    parallel = nmi_ari(data.obsm["X_emb"], data.obs["cell_type"], resolutions=resolutions, n_jobs=2)
    pd.testing.assert_frame_equal(serial.table, parallel.table)
    np.testing.assert_array_equal(serial.clusters, parallel.clusters)


def test_louvain_is_deterministic_for_a_seed(data):
    a = nmi_ari(data.obsm["X_emb"], data.obs["cell_type"], resolutions=[1.0], seed=7)
    b = nmi_ari(data.obsm["X_emb"], data.obs["cell_type"], resolutions=[1.0], seed=7)
    np.testing.assert_array_equal(a.clusters, b.clusters)


def test_compute_all_matches_the_single_metric_functions(data):
    timings: dict[str, float] = {}
    values = compute_all(data, settings=MetricSettings(), timings=timings)
    emb, batches, labels = data.obsm["X_emb"], data.obs["batch"], data.obs["cell_type"]
    assert values["basw"] == pytest.approx(batch_asw(emb, batches, labels), abs=1e-12)
    assert values["casw"] == pytest.approx(label_asw(emb, labels), abs=1e-12)
    assert values["kbet"] == pytest.approx(kbet(emb, batches), abs=1e-12)
    sweep = nmi_ari(emb, labels)
    assert (values["nmi"], values["ari"], values["best_resolution"]) == pytest.approx(
        (sweep.nmi, sweep.ari, sweep.resolution)
    )
    assert {"basw", "casw", "kbet", "louvain sweep (nmi, ari)"} <= set(timings)
    # the same numbers from plain arrays
    same = compute_all(emb, batches.to_numpy(), labels.to_numpy())
    assert same == pytest.approx(values, nan_ok=True)


def test_compute_all_on_real_data_equals_scib():
    if not CELLBENCH.exists():
        pytest.skip("real data missing")
    adata = ad.read_h5ad(CELLBENCH)
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=1000)
    adata = adata[:, adata.var["highly_variable"]].copy()
    sc.pp.pca(adata, n_comps=30, random_state=0)
    adata.obs["cell_type"] = adata.obs["celltype"].astype("category")
    adata.obs["batch"] = adata.obs["batch"].astype("category")
    adata.obsm["X_emb"] = adata.obsm["X_pca"]
    values = compute_all(adata)

    assert values["basw"] == pytest.approx(
        float(scib.metrics.silhouette_batch(adata, "batch", "cell_type", "X_emb", verbose=False)),
        abs=1e-6,
    )
    assert values["casw"] == pytest.approx(
        float(scib.metrics.silhouette(adata, "cell_type", "X_emb")), abs=1e-6
    )
    sc.pp.neighbors(adata, n_neighbors=15, use_rep="X_emb")
    res, nmi, _ = scib.metrics.opt_louvain(adata, "cell_type", "cl", verbose=False)
    assert (values["best_resolution"], values["nmi"]) == pytest.approx((res, nmi), abs=1e-12)
    ari = adjusted_rand_score(adata.obs["cell_type"], adata.obs["cl"])
    assert values["ari"] == pytest.approx(ari, abs=1e-12)
    # five well separated cell lines: high bio conservation
    assert values["nmi"] > 0.8 and values["ari"] > 0.8
