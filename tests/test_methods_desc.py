"""DESC (PyTorch port of eleozzr/desc 2.1.1): size rule, scaling, DEC formulas against hand
computations, the learning-rate schedules, seeding, and a run on real data (Kang)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing
from helpers.seeds import harness_run, seeded_runs

from claire.bench.competitors import desc
from claire.bench.competitors._deep_clustering import (
    KerasEarlyStopping,
    keras_kld,
    soft_assign,
    target_distribution,
)
from claire.bench.contract import InputError
from claire.bench.metrics import nmi_ari

SHORT = {"pretrain_epochs": 12, "end_to_end_stage_epochs": 4, "max_iter": 3, "progress": False}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


SMALL = {"n_batches": 2}  # the shared `small` fixture (conftest): 300 cells, 200 HVGs


@pytest.mark.parametrize(
    ("n_cells", "hidden"),
    [
        (100, [16]),
        (500, [16]),
        (501, [64]),
        (2000, [64]),
        (2001, [128]),
        (5000, [128]),
        (5001, [32, 16]),
        (10000, [32, 16]),
        (10001, [64, 32]),
        (20000, [64, 32]),
        (20001, [128, 32]),
    ],
)
def test_size_rule_follows_getdims(n_cells, hidden):
    assert desc.size_rule(n_cells, 777) == [777, *hidden]


def test_scale_bygroup_matches_a_hand_computation():
    rng = np.random.default_rng(0)
    x = rng.gamma(1.0, 2.0, size=(12, 4))
    x[:, 3] = 5.0  # constant gene: SD floored at 1e-5, values 0
    x[0, 0] = 60.0  # far upper outlier in group a
    groups = np.array(["a"] * 7 + ["b"] * 5)
    out = desc.scale_bygroup(x, groups, max_value=6.0)
    for g in ("a", "b"):
        block = x[groups == g]
        sd = block.std(axis=0, ddof=1)
        sd[sd <= 1e-5] = 1e-5
        expected = (block - block.mean(axis=0)) / sd
        expected = np.minimum(expected, 6.0)  # only the upper tail is clipped
        np.testing.assert_allclose(out[groups == g], expected, rtol=1e-5, atol=1e-6)
    assert out[0, 0] < 6.0 + 1e-6 and out[:, 3].tolist() == [0.0] * 12
    low = np.zeros((6, 1))
    low[0] = -100.0
    assert desc.scale_bygroup(low, np.zeros(6), 6.0)[0, 0] < -2.0  # no lower clip


def test_soft_assignment_target_and_kl_match_hand_computation():
    z = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    mu = torch.tensor([[0.0, 1.0], [2.0, 0.0]], dtype=torch.float64)
    for alpha in (1.0, 2.0):
        q = soft_assign(z, mu, alpha).numpy()
        hand = np.zeros((3, 2))
        for i in range(3):
            for j in range(2):
                d2 = float(((z[i] - mu[j]) ** 2).sum())
                hand[i, j] = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
            hand[i] /= hand[i].sum()
        np.testing.assert_allclose(q, hand, rtol=1e-12)
    q = soft_assign(z, mu, 1.0)
    # alpha = 1: q_i0 for z_0 = (1 + 1)^-1, q_i1 = (1 + 4)^-1 -> [5/7, 2/7]
    np.testing.assert_allclose(q[0].numpy(), [5 / 7, 2 / 7], rtol=1e-12)
    p = target_distribution(q).numpy()
    qn = q.numpy()
    f = qn.sum(axis=0)
    hand_p = np.zeros_like(qn)
    for i in range(3):
        w = [qn[i, j] ** 2 / f[j] for j in range(2)]
        hand_p[i] = np.array(w) / sum(w)
    np.testing.assert_allclose(p, hand_p, rtol=1e-12)
    kl = float(keras_kld(torch.from_numpy(hand_p), q))
    hand_kl = np.mean(
        [sum(hand_p[i, j] * math.log(hand_p[i, j] / qn[i, j]) for j in range(2)) for i in range(3)]
    )
    assert kl == pytest.approx(hand_kl, rel=1e-10)


def test_keras_kld_clips_p_and_q():
    p = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[1.0 - 1e-12, 1e-12]], dtype=torch.float64)
    # clipped to [1e-7, 1]: 1*log(1/(1-1e-12)) + 1e-7*log(1e-7/1e-7) = ~1e-12
    assert float(keras_kld(p, q)) == pytest.approx(1e-12, abs=1e-13)
    q_bad = torch.tensor([[1e-12, 1.0 - 1e-12]], dtype=torch.float64)
    assert float(keras_kld(p, q_bad)) == pytest.approx(math.log(1 / 1e-7), rel=1e-6)


def test_learning_rate_schedules_are_desc_s():
    assert desc.stack_schedule(300) == [(0.1, 50), (0.01, 50), (0.001, 50)]
    assert desc.stack_schedule(31) == [(0.1, 5), (0.01, 5), (0.001, 5)]  # int(31/2)=15
    e2e = desc.end_to_end_schedule(300)
    assert [lr for lr, _ in e2e] == pytest.approx([1.0, 0.1, 0.01, 1e-3, 1e-4, 1e-5])
    assert {e for _, e in e2e} == {50}
    assert len(desc.end_to_end_schedule(301)) == 7  # ceil(301 / 50)
    assert desc.end_to_end_schedule(30, stage_epochs=4) == [(1.0, 4)]


def test_keras_early_stopping_semantics():
    stop = KerasEarlyStopping(patience=3, min_delta=1e-4)
    # 1.0 improves on inf; 0.99995 is not 1e-4 better; 0.9 improves and resets the wait
    seq = [1.0, 0.99995, 0.99999, 0.9, 0.89995, 0.8998, 0.89991, 0.8999, 0.89975]
    assert [stop.stop(v) for v in seq] == [False] * 8 + [True]


def test_training_runs_the_schedules_in_order(small):
    result = desc.run(small, "batch", seed=0, use_early_stop=False, **SHORT)
    stats = result.uns["desc"]
    hist = stats["history"]
    assert stats["dims"].tolist() == [200, 16]  # 300 cells -> [p, 16]
    assert stats["stack_epochs"].tolist() == [[2, 2, 2]]  # int(12/2)=6 -> 3 stages of 2
    assert stats["end_to_end_epochs"].tolist() == [4]
    stack = hist["lr"][hist["phase"] == "stack 1"]
    np.testing.assert_allclose(stack, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    np.testing.assert_allclose(hist["lr"][hist["phase"] == "end-to-end"], [1.0] * 4)
    clustering = hist["lr"][hist["phase"] == "clustering"]
    assert len(clustering) == stats["clustering_epochs"] and set(clustering) <= {0.01}
    assert stats["clustering_epochs"] % 5 == 0
    assert len(stats["delta_label"]) == stats["clustering_rounds"]
    assert stats["n_clusters"] >= 2 and stats["cluster_sizes"].sum() == small.n_obs
    assert not stats["uses_cell_type_labels"]


def test_same_seed_same_embedding_and_snapshots(small):
    params = {**SHORT, "snapshot_epochs": [0, 5, 400]}
    first, again = seeded_runs(desc.run, small, 3, **params)
    assert first.embedding.shape == (small.n_obs, 16)
    assert np.abs(first.embedding).max() <= 1.0  # tanh bottleneck
    assert sorted(first.snapshots) == [0, 5, 400]
    for epoch, snap in first.snapshots.items():
        np.testing.assert_array_equal(snap, again.snapshots[epoch])
    np.testing.assert_array_equal(first.snapshots[400], first.embedding)  # not reached
    assert not np.array_equal(first.snapshots[0], first.embedding)


def test_desc_never_reads_cell_types_and_names_a_missing_batch(small):
    unlabelled = small.copy()
    del unlabelled.obs["cell_type"]
    result = desc.run(unlabelled, "batch", seed=0, **SHORT)
    assert np.isfinite(result.embedding).all()
    with pytest.raises(InputError, match="no_such_column"):
        desc.run(small, "no_such_column", seed=0, **SHORT)


def test_desc_on_real_data(kang_raw, tmp_path):
    kang = kang_preprocessed(kang_raw)
    params = {"pretrain_epochs": 40, "end_to_end_stage_epochs": 10, "max_iter": 10}
    emb, stats = harness_run("desc", desc.run, kang, params, tmp_path)
    assert emb.shape == (kang.n_obs, 64)  # 1556 cells -> [p, 64]
    assert not stats["uses_cell_type_labels"] and stats["n_clusters"] >= 2
    labels = kang.obs["cell_type"].to_numpy()
    scores, pca = mixing(emb, kang), baseline_mixing(kang)
    sweep = nmi_ari(emb, labels)
    print(f"DESC on Kang: {scores}, NMI {sweep.nmi:.3f}, ARI {sweep.ari:.3f}; PCA {pca}")
    assert scores.beats(pca), f"DESC {scores} vs PCA {pca}"  # per-batch scaling mixes
    assert sweep.nmi > 0.5  # the 5 PBMC types stay separated


def test_index_select_leaves_embedding_and_losses_bit_identical(small, monkeypatch):
    """The minibatch rows copied by index_select give exactly the numbers of the advanced
    indexing they replace (pretraining, Louvain start, DEC rounds)."""
    kwargs = {**SHORT, "snapshot_epochs": [0, 5]}
    fast = desc.run(small, "batch", seed=4, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(desc, "rows", lambda t, idx: t[idx])
        slow = desc.run(small, "batch", seed=4, **kwargs)
    np.testing.assert_array_equal(fast.embedding, slow.embedding)
    np.testing.assert_array_equal(fast.snapshots[5], slow.snapshots[5])
    a, b = fast.uns["desc"]["history"], slow.uns["desc"]["history"]
    assert "clustering" in set(a["phase"])
    np.testing.assert_array_equal(a["loss"], b["loss"])
    np.testing.assert_array_equal(a["phase"], b["phase"])
    plain = desc.run(small, "batch", seed=4, **{**kwargs, "snapshot_epochs": []})
    np.testing.assert_array_equal(plain.embedding, fast.embedding)  # snapshots change nothing
