"""Label transfer, trajectory conservation, BRAS and CiLISI (issue 26)."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers.data import blobs, kang_preprocessed

from claire.bench.metrics import compute_all, downstream, extended
from claire.bench.metrics.compute import MetricSettings
from claire.bench.metrics.knn_graph import knn_connectivities
from claire.bench.metrics.pairwise import pairwise_summary
from claire.bench.registry import metrics as registry

# ---- label transfer -------------------------------------------------------------------------


def _hand_case():
    """Two batches on a line (angles): batch 0 cells at 0, 10, 20, 100 degrees (types a a b c),
    batch 1 at 5, 15, 95, 180 degrees (types a b c d)."""
    angles = np.radians([0, 10, 20, 100, 5, 15, 95, 180])
    emb = np.c_[np.cos(angles), np.sin(angles)] * np.arange(1, 9)[:, None]  # norms irrelevant
    batches = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    labels = np.array([0, 0, 1, 2, 0, 1, 2, 3])  # a=0 b=1 c=2 d=3
    return emb, batches, labels


def test_label_transfer_by_hand():
    emb, batches, labels = _hand_case()
    result = downstream.label_transfer(emb, batches, labels, k=1)
    # query batch 0 (ref 5a, 15b, 95c, 180d): 0->5a ok, 10->5a (5 deg vs 5 deg: tie, then
    # the first reference column) ok, 20->15b ok, 100->95c ok: 4/4
    # query batch 1 (ref 0a, 10a, 20b, 100c; d unknown, left out): 5->0a/10a a ok,
    # 15->10a/20b tie -> 10a (first) wrong (b), 95->100c ok: 2/3
    per_batch = result.per_batch.set_index("batch")
    assert per_batch.loc[1, "n_query"] == 4 and per_batch.loc[1, "n_scored"] == 3
    assert per_batch.loc[0, "accuracy"] == pytest.approx(1.0)
    assert per_batch.loc[1, "accuracy"] == pytest.approx(2 / 3)
    assert result.accuracy == pytest.approx((1 + 2 / 3) / 2)
    # batch 1 macro-F1 over its shared types a, b, c: a (P 1/2, R 1 -> 2/3), b 0, c 1
    assert per_batch.loc[1, "macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_label_transfer_majority_and_drop_first():
    # one query cell, reference: 1 of type 0 right on it, 2 of type 1 a bit further, 1 of
    # type 0 further still
    ref = np.radians([0, 20, 25, 30])
    emb = np.c_[np.cos(np.r_[0.0, ref]), np.sin(np.r_[0.0, ref])]
    batches = np.array([0, 1, 1, 1, 1])
    labels = np.array([0, 0, 1, 1, 0])
    vote = downstream.knn_vote(emb[1:], emb[:1], labels[1:], k=3)
    assert vote.tolist() == [1]  # neighbours 0,20,25 deg: types 0,1,1
    vote = downstream.knn_vote(emb[1:], emb[:1], labels[1:], k=1, drop_first=False)
    assert vote.tolist() == [0]
    # the authors' quirk: search 2, drop the nearest -> the 20 degree cell (type 1)
    vote = downstream.knn_vote(emb[1:], emb[:1], labels[1:], k=1, drop_first=True)
    assert vote.tolist() == [1]
    # ties go to the smallest code: neighbours 0 (type 0) and 20 (type 1)
    assert downstream.knn_vote(emb[1:], emb[:1], labels[1:], k=2).tolist() == [0]
    del batches


def test_label_transfer_leave_one_batch_out():
    data = blobs(n_cells=300, seed=3)
    batches = pd.Categorical(data.obs["batch"]).codes
    labels = pd.Categorical(data.obs["cell_type"]).codes
    result = downstream.label_transfer(data.obsm["X_emb"], batches, labels)
    assert len(result.per_batch) == 3
    # 'solo' lives in batch b0 only: its cells are not scored when b0 is the query
    solo = int(pd.Categorical(data.obs["cell_type"]).categories.get_loc("solo"))
    b0 = result.per_batch.set_index("batch").loc[0]
    assert b0["n_scored"] == b0["n_query"] - int(((labels == solo) & (batches == 0)).sum())
    assert result.accuracy == pytest.approx(result.per_batch["accuracy"].mean())


@pytest.fixture(scope="module")
def kang_transfer(kang_raw):
    from claire.bench.methods import harmony, pca

    data = kang_preprocessed(kang_raw)
    batches = pd.Categorical(data.obs["batch"]).codes
    labels = pd.Categorical(data.obs["cell_type"]).codes
    scores = {}
    for name, module in (("pca", pca), ("harmony", harmony)):
        emb = module.run(data.copy(), "batch", seed=0)
        scores[name] = downstream.label_transfer(emb, batches, labels)
    rng = np.random.default_rng(0)
    scores["shuffled"] = downstream.label_transfer(rng.permutation(emb), batches, labels)
    return scores


@pytest.mark.slow
def test_label_transfer_kang(kang_transfer):
    """Leave-one-sample-out transfer on Kang's 4 samples works for both embeddings (measured:
    PCA 0.905 / macro-F1 0.884, Harmony 0.887 / 0.863) and a shuffled embedding is at chance."""
    for name in ("pca", "harmony"):
        assert kang_transfer[name].accuracy > 0.85
        assert kang_transfer[name].macro_f1 > 0.8
    assert kang_transfer["shuffled"].accuracy < 0.5


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured: on Kang, Harmony's leave-one-sample-out label transfer (0.887) stays "
    "below unintegrated PCA's (0.905); also ctrl<->stim (0.903 vs 0.918) and with the authors' "
    "drop-first quirk. The issue's expectation does not hold here (docs/downstream-and-"
    "extended-metrics.md)",
)
def test_label_transfer_kang_harmony_beats_pca(kang_transfer):
    assert kang_transfer["harmony"].accuracy > kang_transfer["pca"].accuracy


# ---- BRAS and CiLISI --------------------------------------------------------------------------


def _typed(seed: int = 0, n_per_type: int = 100):
    """Three cell types of equal size over three batches (one batch a single cell in type
    t2), plus 'solo' in one batch only: equal shapes keep scib-metrics to one compilation."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2], n_per_type)
    batches = rng.integers(0, 3, labels.size)
    batches[labels == 2] = np.r_[2, rng.integers(0, 2, n_per_type - 1)]
    labels, batches = np.r_[labels, np.full(20, 3)], np.r_[batches, np.zeros(20, dtype=int)]
    centres, shifts = rng.normal(0, 3, (4, 8)), rng.normal(0, 0.8, (3, 8))
    emb = centres[labels] + shifts[batches] + rng.normal(0, 1.0, (labels.size, 8))
    return emb.astype(np.float32), labels, batches


def test_bras_equals_scib_metrics():
    from scib_metrics import bras as scib_bras

    emb, labels, batches = _typed()
    ours = extended.bras(emb, labels, batches)
    theirs = float(scib_bras(emb, labels, batches, chunk_size=100, metric="cosine"))
    print(f"BRAS ours {ours:.9f} scib-metrics {theirs:.9f} |diff| {abs(ours - theirs):.2e}")
    assert abs(ours - theirs) < 1e-6
    # a batch shift lowers it, and the default between-cluster rule is mean_other
    assert extended.bras(emb + 3 * batches[:, None], labels, batches) < ours


def test_cilisi_by_hand():
    from scib_metrics import ilisi_knn
    from scib_metrics.nearest_neighbors import NeighborsResults
    from sklearn.neighbors import NearestNeighbors

    emb, labels, batches = _typed(seed=2, n_per_type=60)
    emb = emb.astype(np.float64)
    k = 30
    # the authors' formula: sum_t n_t * iLISI_t / n; 'solo' (one batch, undefined) adds 0
    total = 0.0
    for t in (0, 1, 2):
        cells = np.flatnonzero(labels == t)
        dist, idx = NearestNeighbors(n_neighbors=k).fit(emb[cells]).kneighbors(emb[cells])
        knn = NeighborsResults(indices=idx, distances=dist)
        total += cells.size * float(ilisi_knn(knn, batches[cells], perplexity=k // 3))
    expected = total / labels.size
    ours = extended.cilisi(emb, labels, batches, k=k)
    assert ours == pytest.approx(expected, abs=1e-6)
    assert 0.0 < ours < 1.0
    # batches kept apart within every type: iLISI 1 -> 0; a batch effect lowers it
    shifted = extended.cilisi(emb + 3.0 * batches[:, None], labels, batches, k=k)
    assert shifted < ours


# ---- trajectory conservation -----------------------------------------------------------------


def _branching(n: int = 500, seed: int = 0):
    """A Y in 2-D (stem then two branches) with stages as cell types, two lineages."""
    rng = np.random.default_rng(seed)
    t = rng.random(n)
    branch = rng.integers(0, 2, n)
    stem = t < 0.4
    sign = np.where(branch == 0, 1.0, -1.0)
    pos = np.where(stem[:, None], np.c_[t, 0 * t], np.c_[t, sign * (t - 0.4)])
    emb = np.c_[pos, np.zeros((n, 3))] + rng.normal(0, 0.03, (n, 5))
    stage = np.where(stem, np.where(t < 0.2, "s0", "s1"), np.where(branch == 0, "A", "B"))
    pseudotimes = pd.DataFrame(
        {
            "pt_1": np.where(stem | (branch == 0), t, np.nan),
            "pt_2": np.where(stem | (branch == 1), t, np.nan),
        }
    )
    return emb, stage, pseudotimes


def test_trajectory_conservation_equals_scib():
    import scib

    emb, stage, pseudotimes = _branching()
    n, k = emb.shape[0], 15
    zeros = np.zeros(n, dtype=np.int64)
    summary = pairwise_summary(emb, zeros, zeros, k=k, dtype=np.float64)
    conn = knn_connectivities(summary.knn_indices, summary.knn_distances)
    ours = downstream.trajectory_conservation(
        conn, summary.knn_indices, summary.knn_distances, stage, pseudotimes
    )
    names = [str(i) for i in range(n)]
    post = ad.AnnData(obs=pd.DataFrame({"stage": pd.Categorical(stage)}, index=names))
    post.obsp["connectivities"] = conn
    post.obsp["distances"] = sp.csr_matrix(
        (
            summary.knn_distances[:, 1:].ravel(),
            summary.knn_indices[:, 1:].ravel(),
            np.arange(0, n * (k - 1) + 1, k - 1),
        ),
        shape=(n, n),
    )
    post.uns["neighbors"] = {
        "connectivities_key": "connectivities",
        "distances_key": "distances",
        "params": {"n_neighbors": k, "method": "umap"},
    }
    theirs = []
    for column in pseudotimes.columns:
        pre = ad.AnnData(
            obs=pd.DataFrame(
                {"stage": pd.Categorical(stage), "pt": pseudotimes[column].to_numpy()},
                index=names,
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.append(scib.metrics.trajectory_conservation(pre, post.copy(), "stage", "pt"))
    assert abs(ours - float(np.mean(theirs))) < 1e-6
    assert ours > 0.9  # the Y's own graph keeps its pseudotime
    # a scrambled embedding does not
    rng = np.random.default_rng(1)
    noise = rng.normal(size=emb.shape)
    summary = pairwise_summary(noise, zeros, zeros, k=k)
    conn = knn_connectivities(summary.knn_indices, summary.knn_distances)
    scrambled = downstream.trajectory_conservation(
        conn, summary.knn_indices, summary.knn_distances, stage, pseudotimes
    )
    assert scrambled < 0.7


# ---- through compute_all ------------------------------------------------------------------------


def test_compute_all_reports_downstream_metrics_outside_f1():
    emb, stage, pseudotimes = _branching(n=300)
    batches = np.arange(300) % 2
    plain = compute_all(emb, batches, stage, MetricSettings(resolutions=(0.5,)))
    assert {"label_transfer", "label_transfer_f1", "bras"} <= set(plain)
    assert np.isnan(plain["trajectory"])
    with_pt = compute_all(
        emb, batches, stage, MetricSettings(resolutions=(0.5,)), pseudotimes=pseudotimes
    )
    assert 0.5 < with_pt["trajectory"] <= 1.0
    for name in ("label_transfer", "label_transfer_f1", "trajectory", "bras", "cilisi"):
        assert name not in registry.SCORED_METRICS
    assert registry.METRIC_BY_NAME["label_transfer"].group == "bio"
    assert registry.METRIC_BY_NAME["bras"].group == "batch"


def test_compute_all_extended_has_cilisi_and_basw_split():
    emb, labels, batches = _typed(seed=4, n_per_type=60)
    settings = MetricSettings(resolutions=(0.5,), extended=True, lisi_k=30)
    values = compute_all(emb, batches, labels, settings=settings)
    assert 0.0 <= values["cilisi"] <= 1.0
    assert values["basw"] == pytest.approx(1 - values["basw_apart"] - values["basw_overlap"])
