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


def _reference_vote(reference, query, labels, k, drop_first):
    """knn_vote by a full stable descending sort of every similarity row."""
    order = np.argsort(-(query @ reference.T), axis=1, kind="stable")
    top = order[:, : min(k + int(drop_first), len(reference))]
    if drop_first and top.shape[1] > 1:
        top = top[:, 1:]
    counts = np.stack([np.bincount(row, minlength=labels.max() + 1) for row in labels[top]])
    return counts.argmax(axis=1)


@pytest.mark.parametrize("drop_first", [False, True])
@pytest.mark.parametrize("k", [1, 10, 40])
def test_knn_vote_equals_a_full_sort(k, drop_first):
    rng = np.random.default_rng(k)
    reference = rng.normal(size=(700, 8))
    reference[350:] = reference[:350]  # exact duplicates: equal similarities everywhere
    reference[::7] = np.round(reference[::7], 0)  # more ties among the rounded rows
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    query = np.vstack([reference[:60], rng.normal(size=(200, 8))])
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    labels = rng.integers(0, 6, size=len(reference))
    expected = _reference_vote(reference, query, labels, k, drop_first)
    # small blocks: the query is cut into many pieces
    for max_block in (1 << 24, 3 * len(reference) + 5):
        got = downstream.knn_vote(reference, query, labels, k, drop_first, max_block=max_block)
        np.testing.assert_array_equal(got, expected)
    # fewer reference rows than k: all of them vote
    small = downstream.knn_vote(reference[:5], query, labels[:5], k=40)
    expected_small = _reference_vote(reference[:5], query, labels[:5], 40, False)
    np.testing.assert_array_equal(small, expected_small)


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


def _lisi_by_hand(graph: sp.csr_matrix, codes: np.ndarray, k: int) -> np.ndarray:
    """scib's graph LISI written from its definition with other tools: all shortest paths
    (scipy's Dijkstra, edge length = connectivity), the k nearest other cells, the Gaussian
    kernel whose perplexity is floor(k / 3) (root-found with brentq), Simpson's index."""
    from scipy.optimize import brentq
    from scipy.sparse.csgraph import dijkstra

    paths = dijkstra(graph, directed=True)
    out = np.full(graph.shape[0], np.nan)
    for i in range(graph.shape[0]):
        if graph[i].nnz == 0:
            continue  # no edge inside the type: left out
        order = [j for j in np.argsort(paths[i], kind="stable") if j != i]
        d = paths[i, order[:k]]
        if len(order) < k or not np.isfinite(d).all():
            out[i] = 1.0  # fewer than k reachable cells
            continue

        def entropy_gap(beta: float, d: np.ndarray = d) -> float:
            p = np.exp(-beta * (d - d.min()))
            p /= p.sum()
            return -np.sum(p * np.log(np.where(p > 0, p, 1.0))) - np.log(k // 3)

        p = np.exp(-brentq(entropy_gap, 1e-9, 1e9, xtol=1e-12) * (d - d.min()))
        p /= p.sum()
        shares = np.bincount(codes[np.array(order[:k])], weights=p, minlength=codes.max() + 1)
        out[i] = 1.0 / np.sum(shares**2)
    return out


def test_graph_lisi_by_hand():
    from claire.bench.metrics.graph_lisi import graph_lisi

    emb, labels, batches = _typed(seed=2, n_per_type=60)
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=15).fit(emb).kneighbors(emb)
    graph = knn_connectivities(idx, dist)
    cells = np.flatnonzero(labels == 0)
    sub = graph[cells][:, cells]
    ours = graph_lisi(sub, batches[cells], k=30)
    expected = _lisi_by_hand(sub.tocsr(), batches[cells], k=30)
    assert np.isnan(ours).sum() == np.isnan(expected).sum()
    assert np.nanmax(np.abs(ours - expected)) < 1e-4  # bisection stops at |dH| < 1e-5
    assert np.nanmedian(ours) == pytest.approx(np.nanmedian(expected), abs=1e-4)


def test_cilisi_by_hand():
    """CiLISI = sum_t n_t * (median LISI_t - 1) / (batches_t - 1) / n on the 15-NN graph
    restricted to each type (the authors' loop over scib's ilisi_graph)."""
    from sklearn.neighbors import NearestNeighbors

    emb, labels, batches = _typed(seed=2, n_per_type=60)
    dist, idx = NearestNeighbors(n_neighbors=15).fit(emb).kneighbors(emb)
    graph = knn_connectivities(idx, dist)
    k = 30
    total = 0.0
    for t in (0, 1, 2):  # type 3 is in one batch: undefined, adds 0
        cells = np.flatnonzero(labels == t)
        lisi = _lisi_by_hand(graph[cells][:, cells].tocsr(), batches[cells], k)
        total += cells.size * (np.nanmedian(lisi) - 1) / (np.unique(batches[cells]).size - 1)
    ours = extended.cilisi(graph, labels, batches, k=k)
    assert ours == pytest.approx(total / labels.size, abs=1e-4)
    assert 0.0 < ours < 1.0
    # a batch effect lowers it
    shifted = emb + 3.0 * batches[:, None]
    dist, idx = NearestNeighbors(n_neighbors=15).fit(shifted).kneighbors(shifted)
    assert extended.cilisi(knn_connectivities(idx, dist), labels, batches, k=k) < ours


def test_cilisi_edge_rules():
    """A cell without an edge in its type is left out of the median but counts in the
    type's size; a type whose cells reach fewer than k cells scores 0; one batch adds 0."""
    from claire.bench.metrics.graph_lisi import graph_lisi

    # type 0: cells 0-6 a 7-clique, cell 7 linked only to type 1; type 1: cells 8-10 a
    # path (fewer than k = 6 cells reachable); type 2: cells 11-12, one batch
    rng = np.random.default_rng(0)
    clique = [(a, b) for a in range(7) for b in range(a + 1, 7)]
    edges = clique + [(7, 8), (8, 9), (9, 10), (11, 12)]
    rows, cols = np.array(edges).T
    weights = np.r_[rng.uniform(0.2, 1.0, len(clique)), np.full(4, 0.9)]
    graph = sp.coo_matrix((weights, (rows, cols)), shape=(13, 13)).tocsr()
    graph = (graph + graph.T).tocsr()
    labels = np.repeat([0, 1, 2], [8, 3, 2])
    batches = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    k = 6
    lisi = graph_lisi(graph[:8][:, :8], batches[:8], k=k)
    expected = _lisi_by_hand(graph[:8][:, :8].tocsr(), batches[:8], k=k)
    assert np.isnan(lisi[7]) and np.isnan(expected[7])
    np.testing.assert_allclose(lisi[:7], expected[:7], atol=1e-3)
    assert np.all(graph_lisi(graph[8:11][:, 8:11], batches[8:11], k=k) == 1.0)
    type0 = (np.median(expected[:7]) - 1) / (2 - 1)
    assert 0.0 < type0 < 1.0
    ours = extended.cilisi(graph, labels, batches, k=k)
    assert ours == pytest.approx(8 * type0 / 13, abs=1e-3)


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
