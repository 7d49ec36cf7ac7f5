"""MAT2 reimplementation: triplet rules, margins, losses, snapshots as runs, real data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing

from claire.bench.competitors import mat2
from claire.bench.contract import AdapterResult, InputError
from claire.bench.methods import pca
from claire.bench.metrics import nmi_ari

torch.set_num_threads(1)


def test_margin_rule_by_hand():
    za = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    zp = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])  # |a-p| = 5, 1, 2
    zn = torch.tensor([[0.0, 4.5], [0.0, 3.0], [0.0, 0.0]])  # |a-n| = 4.5, 3, 0
    s_pos = torch.tensor([0.6, 1.0, 0.4])
    s_neg = torch.tensor([1.0, 1.0, -0.4])  # third: collision, negative = anchor
    margin = mat2.margins(s_pos, s_neg)
    torch.testing.assert_close(margin, torch.tensor([0.8, 1.0, 0.0]))
    # hinges: 5 - 4.5 + 0.8 = 1.3; 1 - 3 + 1 < 0 -> 0; 2 - 0 + 0 = 2 (eps 1e-6 aside)
    loss = mat2.triplet_loss(za, zp, zn, margin)
    assert float(loss) == pytest.approx((1.3 + 0.0 + 2.0) / 3, abs=1e-5)


def partner_table() -> mat2.PartnerTable:
    """Cells 0..5; cell 0 -> {1: 0.9, 2: 0.3}, cell 1 -> {0: 0.9}, cell 3 -> {4: 0.0};
    cells 2, 4, 5 have no anchor rows of their own; one negative-score row is ignored."""
    pairs = np.array([[0, 1], [0, 2], [1, 0], [3, 4], [5, 0]])
    scores = np.array([0.9, 0.3, 0.9, 0.0, -0.5])
    return mat2.PartnerTable.from_anchors(pairs, scores, 6)


def test_encoder_triplet_rules_over_many_draws():
    table, rng = partner_table(), np.random.default_rng(0)
    cells = np.tile(np.arange(6), 3000)
    t = mat2.encoder_triplets(cells, table, 6, rng)
    partners = {0: {1: 0.9, 2: 0.3}, 1: {0: 0.9}, 3: {4: 0.0}}
    for c in range(6):
        sel = t.anchor == c
        if c not in partners:  # anchorless: p = n = a, zero scores
            assert (t.positive[sel] == c).all() and (t.negative[sel] == c).all()
            assert (t.s_pos[sel] == 0).all() and (t.s_neg[sel] == 0).all()
            continue
        pos, s_pos = t.positive[sel], t.s_pos[sel]
        assert set(pos) == set(partners[c])
        assert all(s == partners[c][p] for p, s in zip(pos, s_pos, strict=True))
        hit = t.negative[sel] == c
        # collisions (the draw hit the anchor or the positive) give s_n = -s_p
        np.testing.assert_array_equal(t.s_neg[sel][hit], -s_pos[hit])
        assert (t.s_neg[sel][~hit] == 1.0).all()
        assert (t.negative[sel][~hit] != c).all()
        assert (t.negative[sel][~hit] != pos[~hit]).all()
        # any other cell can be a negative (cell 0's partners too, when the other is drawn)
        reachable = {0: {1, 2, 3, 4, 5}, 1: {2, 3, 4, 5}, 3: {0, 1, 2, 5}}
        assert set(t.negative[sel][~hit]) == reachable[c]
        # a global uniform draw collides with probability 2/6
        assert hit.mean() == pytest.approx(2 / 6, abs=0.03)


def test_anchorless_triplets_are_dropped():
    table, rng = partner_table(), np.random.default_rng(1)
    cells = np.tile(np.arange(6), 500)
    t = mat2.encoder_triplets(cells, table, 6, rng)
    kept = t.subset(t.valid())
    assert not np.isin(kept.anchor, [2, 4, 5]).any()  # no anchors of their own
    assert set(kept.anchor) == {0, 1, 3}
    # cell 3's only partner scores 0: kept with a drawn negative (margin 0.5), dropped
    # when the draw collides (s_p = s_n = 0)
    three = t.anchor == 3
    collided = three & (t.negative == 3)
    assert collided.any() and not kept.subset(kept.anchor == 3).negative.tolist().count(3)
    assert (kept.anchor == 3).sum() == three.sum() - collided.sum()


def test_batches_without_valid_triplets_take_no_step():
    enc = mat2.Encoder(16, 4)
    before = [p.detach().clone() for p in enc.parameters()]
    opt = torch.optim.Adam(enc.parameters(), lr=1e-3, weight_decay=0.01)
    empty = mat2.PartnerTable.from_anchors(np.zeros((0, 2), int), np.zeros(0), 10)
    loss, skipped = mat2._encoder_epoch(
        enc, opt, torch.randn(10, 16), empty, np.random.default_rng(0), 4
    )
    assert skipped == 3 and np.isnan(loss)
    for b, p in zip(before, enc.parameters(), strict=True):
        torch.testing.assert_close(b, p.detach())


def test_decoder_triplets_stay_in_and_leave_the_batch():
    codes = np.array([1, 0, 2, 0, 1, 1, 2, 0, 0])
    index, rng = mat2.BatchIndex.from_codes(codes), np.random.default_rng(2)
    cells = np.tile(np.arange(9), 2000)
    t = mat2.decoder_triplets(cells, codes, index, rng)
    np.testing.assert_array_equal(codes[t.positive], codes[t.anchor])
    assert (codes[t.negative] != codes[t.anchor]).all()
    for c in range(9):
        own = set(np.flatnonzero(codes == codes[c]))
        assert set(t.positive[t.anchor == c]) == own  # the cell itself included
        assert set(t.negative[t.anchor == c]) == set(range(9)) - own


def test_architecture_and_decoder_loss():
    torch.manual_seed(0)
    mods = mat2.Mat2Modules(
        mat2.Encoder(2000), mat2.ConsensusDecoder(2000), mat2.BatchDecoder(2000, 2)
    )
    shapes = [
        (m.in_features, m.out_features)
        for part in (mods.encoder, mods.consensus, mods.batch)
        for m in part.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    assert shapes == [(2000, 500), (500, 250), (250, 20), (20, 2000), (22, 250), (250, 2000)]
    x = torch.rand(6, 2000)
    onehot = torch.eye(2)[torch.tensor([0, 1, 0, 1, 1, 0])]
    idx = [torch.tensor([0, 1]), torch.tensor([2, 3]), torch.tensor([5, 4])]
    got = mat2.decoder_loss(mods, x, onehot, idx)
    z = [mods.encoder(x[i]) for i in idx]
    d = [mods.batch(zi, onehot[i]) for zi, i in zip(z, idx, strict=True)]
    dist = [torch.sqrt(((d[0] - d[k] + 1e-6) ** 2).sum(1)) for k in (1, 2)]
    hinge = torch.clamp(dist[0] - dist[1] + 1.0, min=0).mean()
    mse = [((mods.consensus(z[k]) + d[k] - x[idx[k]]) ** 2).mean() for k in range(3)]
    torch.testing.assert_close(got, hinge + sum(mse) / 3)


def test_l1_normalisation_times_genes():
    x = np.array([[1.0, 3.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    out = mat2.l1_normalise(x)
    np.testing.assert_allclose(out.sum(axis=1), [4.0, 0.0, 4.0])
    np.testing.assert_allclose(out[0], [0.5, 1.5, 0.0, 2.0])


def test_decoder_stage_leaves_the_encoder_alone(small):
    x = torch.from_numpy(mat2.l1_normalise(small.X))
    codes = small.obs["batch"].cat.codes.to_numpy().astype(np.int64)
    mods = mat2.Mat2Modules(
        mat2.Encoder(x.shape[1]),
        mat2.ConsensusDecoder(x.shape[1]),
        mat2.BatchDecoder(x.shape[1], 3),
    )
    before = [p.detach().clone() for p in mods.encoder.parameters()]
    consensus = [p.detach().clone() for p in mods.consensus.parameters()]
    onehot = torch.eye(3)[torch.from_numpy(codes)]
    index = mat2.BatchIndex.from_codes(codes)
    settings = mat2.Mat2Settings(lr=1e-3, weight_decay=0.01, batch_size=64, progress=False)
    losses = mat2._train_decoders(mods, x, onehot, codes, index, 2, 0, settings)
    assert len(losses) == 2 and np.isfinite(losses).all()
    for b, p in zip(before, mods.encoder.parameters(), strict=True):
        torch.testing.assert_close(b, p.detach())
    assert any(
        not torch.equal(b, p) for b, p in zip(consensus, mods.consensus.parameters(), strict=True)
    )


def test_seeded_and_snapshots_are_separate_runs(small):
    params = dict(epochs=3, batch_size=64, n_pcs=10, progress=False)
    first = mat2.run(small, "batch", seed=2, snapshot_epochs=[0, 2], **params)
    again = mat2.run(small, "batch", seed=2, snapshot_epochs=[0, 2], **params)
    other = mat2.run(small, "batch", seed=3, **params)
    assert isinstance(first, AdapterResult) and first.embedding.shape == (small.n_obs, 10)
    np.testing.assert_array_equal(first.embedding, again.embedding)
    assert not np.array_equal(first.embedding, other.embedding)
    np.testing.assert_array_equal(first.snapshots[2], again.snapshots[2])
    short = mat2.run(small, "batch", seed=2, **{**params, "epochs": 2})
    np.testing.assert_array_equal(first.snapshots[2], short.embedding)
    assert sorted(first.snapshots) == [0, 2]
    stats = first.uns["mat2"]
    assert len(stats["enc_loss"]) == 3 and len(stats["dec_loss"]) == 3
    assert stats["decoder_epochs_trained"] == 3 + 2  # epoch 0 trains nothing
    assert 0 < stats["anchor_score_mean"] < 1 and stats["n_anchors"] % 2 == 0
    rec = mat2.run(small, "batch", seed=2, output="reconstruction", **params)
    assert rec.embedding.shape == (small.n_obs, small.n_vars)


def test_bad_input_is_named(small):
    with pytest.raises(InputError, match="no_such_column"):
        mat2.run(small, "no_such_column", seed=0)
    with pytest.raises(InputError, match="output"):
        mat2.run(small, "batch", seed=0, output="umap")


def test_beats_pca_on_kang(kang_raw):
    kang = kang_preprocessed(kang_raw)
    labels = kang.obs["cell_type"].to_numpy()
    result = mat2.run(kang, "batch", seed=0, epochs=10, progress=False)
    assert result.embedding.shape == (kang.n_obs, 50)
    stats = result.uns["mat2"]
    assert stats["enc_loss"][-1] < stats["enc_loss"][0]
    assert stats["dec_loss"][-1] < stats["dec_loss"][0]
    scores, base = mixing(result.embedding, kang), baseline_mixing(kang)
    assert scores.beats(base), f"{scores} vs PCA {base}"
    nmi = nmi_ari(result.embedding, labels).nmi
    base_nmi = nmi_ari(pca.run(kang, "batch", 0), labels).nmi
    assert nmi > base_nmi - 0.1, f"NMI {nmi} vs PCA {base_nmi}"
