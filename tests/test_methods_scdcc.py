"""scDCC (PyTorch port of ttgump/scDCC): ZINB likelihood against scipy, the noise only on
the reconstruction path, DCA preprocessing against scanpy, constraints, label use,
seeding, and a run on real data (Kang)."""

from __future__ import annotations

import math

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing
from helpers.seeds import harness_run, seeded_runs
from scipy.stats import nbinom

from claire.bench.competitors import scdcc
from claire.bench.contract import InputError
from claire.bench.metrics import nmi_ari

SHORT = {"pretrain_epochs": 4, "maxiter": 3, "progress": False}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


SMALL = {"n_batches": 2}  # the shared `small` fixture (conftest): 300 cells, 200 HVGs


def test_zinb_nll_matches_scipy_nbinom():
    rng = np.random.default_rng(0)
    n_cells, n_genes = 40, 25
    mean = rng.gamma(2.0, 2.0, size=(n_cells, n_genes))
    disp = rng.gamma(2.0, 1.0, size=(n_cells, n_genes)) + 0.05
    pi = rng.uniform(0.01, 0.9, size=(n_cells, n_genes))
    sf = rng.uniform(0.3, 3.0, size=n_cells)
    mu = mean * sf[:, None]
    prob = disp / (disp + mu)
    x = nbinom.rvs(disp, prob, random_state=1).astype(float)
    x[rng.uniform(size=x.shape) < pi] = 0.0
    assert (x == 0).any() and (x > 0).any()
    reference = np.where(
        x == 0,
        -np.log(pi + (1 - pi) * nbinom.pmf(0, disp, prob)),
        -np.log(1 - pi) - nbinom.logpmf(x, disp, prob),
    ).mean()
    t = {k: torch.from_numpy(v) for k, v in dict(x=x, mean=mean, disp=disp, pi=pi).items()}
    ours = scdcc.zinb_nll(t["x"], t["mean"], t["disp"], t["pi"], torch.from_numpy(sf))
    assert float(ours) == pytest.approx(reference, rel=1e-7)
    ridge = scdcc.zinb_nll(
        t["x"], t["mean"], t["disp"], t["pi"], torch.from_numpy(sf), ridge_lambda=0.5
    )
    assert float(ridge) == pytest.approx(reference + 0.5 * (pi**2).mean(), rel=1e-7)


def test_clustering_and_pairwise_losses_match_hand_computation():
    p = torch.tensor([[0.7, 0.3, 0.0], [0.2, 0.2, 0.6]], dtype=torch.float64)
    q = torch.tensor([[0.5, 0.4, 0.1], [0.3, 0.3, 0.4]], dtype=torch.float64)
    rows = []
    for pr, qr in zip(p.tolist(), q.tolist(), strict=True):
        rows.append(sum(a * math.log(a / (b + 1e-6)) for a, b in zip(pr, qr, strict=True) if a))
    hand = np.mean(rows)  # 0 log 0 = 0
    assert float(scdcc.dec_kld(p, q)) == pytest.approx(hand, rel=1e-12)
    same = [0.5 * 0.3 + 0.4 * 0.3 + 0.1 * 0.4] * 2
    q2 = q.flip(0)
    assert float(scdcc.pairwise_loss(q, q2, must_link=True)) == pytest.approx(-math.log(same[0]))
    assert float(scdcc.pairwise_loss(q, q2, must_link=False)) == pytest.approx(
        -math.log(1 - same[0])
    )


def test_noise_is_only_on_the_reconstruction_path():
    torch.manual_seed(0)
    model = scdcc.ScDCCNet(n_genes=30, sigma=2.5)
    x = torch.randn(16, 30)
    z_a, mean_a, _, _ = model(x)
    z_b, mean_b, _, _ = model(x)
    torch.testing.assert_close(z_a, z_b, rtol=0, atol=0)  # clean latent: deterministic
    torch.testing.assert_close(z_a, model.encode(x), rtol=0, atol=0)
    torch.testing.assert_close(z_a, model.enc_mu(model.encoder(x)), rtol=0, atol=0)
    assert not torch.equal(mean_a, mean_b)  # reconstruction sees fresh noise
    # the reconstruction encodes x + sigma * N(0, 1): replaying the RNG reproduces it
    state = torch.get_rng_state()
    mean_c, _, _ = model.reconstruct(x)
    torch.set_rng_state(state)
    noisy = x + torch.randn_like(x) * 2.5
    h = model.decoder(model.encode(noisy))
    torch.testing.assert_close(mean_c, torch.clamp(torch.exp(model.dec_mean(h)), 1e-5, 1e6))
    model.sigma = 0.0
    torch.testing.assert_close(model.reconstruct(x)[0], model.reconstruct(x)[0])


def test_dca_normalize_matches_scanpy():
    import scanpy as sc

    rng = np.random.default_rng(2)
    counts = rng.poisson(rng.gamma(0.5, 2.0, size=(50, 20))).astype(np.float32)
    counts[:, 5] = 0  # a gene without counts is dropped
    counts[0, 0] += 1  # every cell has a count
    counts[counts.sum(1) == 0, 1] = 1
    ours = scdcc.dca_normalize(sp.csr_matrix(counts))
    ref = ad.AnnData(counts.copy())
    sc.pp.filter_genes(ref, min_counts=1)
    ref_raw = ref.X.copy()
    sc.pp.normalize_per_cell(ref)
    sf = ref.obs["n_counts"].to_numpy() / np.median(ref.obs["n_counts"])
    sc.pp.log1p(ref)
    sc.pp.scale(ref)
    assert ours.genes_kept.sum() == 19 and not ours.genes_kept[5]
    np.testing.assert_allclose(ours.x, ref.X, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.size_factors, sf, rtol=1e-6)
    np.testing.assert_array_equal(ours.counts, ref_raw)


def test_random_pairs_follow_the_labels():
    rng = np.random.default_rng(0)
    labels = np.array(list("aabbbcccca") * 10)
    labelled = scdcc.label_cells(len(labels), 0.1, rng)
    assert labelled.size == 10 and np.unique(labelled).size == 10
    pairs = scdcc.random_pairs(labels, labelled, 40, rng)
    assert pairs.ml1.size + pairs.cl1.size == 40
    assert np.all(labels[pairs.ml1] == labels[pairs.ml2])
    assert np.all(labels[pairs.cl1] != labels[pairs.cl2])
    used = np.concatenate([pairs.ml1, pairs.ml2, pairs.cl1, pairs.cl2])
    assert set(used) <= set(labelled)
    assert np.all(pairs.ml1 != pairs.ml2)
    assert len(set(zip(pairs.ml1.tolist(), pairs.ml2.tolist(), strict=True))) == pairs.ml1.size


def test_same_seed_same_embedding_and_snapshots(small):
    params = {**SHORT, "snapshot_epochs": [0, 1, 99]}
    first, again = seeded_runs(scdcc.run, small, 3, **params)
    assert first.embedding.shape == (small.n_obs, 32)
    assert sorted(first.snapshots) == [0, 1, 99]
    np.testing.assert_array_equal(first.snapshots[1], again.snapshots[1])
    np.testing.assert_array_equal(first.snapshots[99], first.embedding)
    stats = first.uns["scdcc"]
    assert stats["pretrain_epochs"] == 4 and len(stats["pretrain_loss"]) == 4
    assert stats["clustering_epochs"] <= 3 and stats["init"] == "louvain"
    assert stats["n_clusters"] == len(stats["cluster_sizes"]) >= 2
    assert stats["cluster_sizes"].sum() == small.n_obs


def test_label_free_run_never_reads_cell_types(small):
    unlabelled = small.copy()
    del unlabelled.obs["cell_type"]
    result = scdcc.run(unlabelled, "batch", seed=0, **SHORT)
    stats = result.uns["scdcc"]
    assert not stats["uses_cell_type_labels"] and stats["n_must_link"] == 0
    assert stats["n_cannot_link"] == 0 and stats["k_source"].startswith("louvain")
    with pytest.raises(InputError, match="cell_type"):
        scdcc.run(unlabelled, "batch", seed=0, label_informed=True, **SHORT)


def test_label_informed_variant_flags_its_label_use(small):
    result = scdcc.run(small, "batch", seed=0, label_informed=True, n_pairwise=50, **SHORT)
    stats = result.uns["scdcc"]
    assert stats["label_informed"] and stats["uses_cell_type_labels"]
    assert "LABEL-INFORMED" in stats["label_use"]
    assert stats["n_clusters"] == small.obs["cell_type"].nunique() == 3
    assert stats["init"] == "kmeans" and stats["n_label_cells"] == 30
    assert stats["n_must_link"] + stats["n_cannot_link"] == 50


def test_input_errors(small):
    with pytest.raises(InputError, match="no_such_column"):
        scdcc.run(small, "no_such_column", seed=0, **SHORT)
    no_counts = small.copy()
    del no_counts.layers["counts"]
    with pytest.raises(InputError, match="counts"):
        scdcc.run(no_counts, "batch", seed=0, **SHORT)


def test_scdcc_on_real_data(kang_raw, tmp_path):
    kang = kang_preprocessed(kang_raw)
    params = {"pretrain_epochs": 30, "maxiter": 10}
    emb, stats = harness_run("scdcc", scdcc.run, kang, params, tmp_path)
    assert emb.shape == (kang.n_obs, 32)
    assert not stats["uses_cell_type_labels"] and stats["n_clusters"] >= 2
    labels = kang.obs["cell_type"].to_numpy()
    scores, pca = mixing(emb, kang), baseline_mixing(kang)
    sweep = nmi_ari(emb, labels)
    print(f"scDCC on Kang: {scores}, NMI {sweep.nmi:.3f}, ARI {sweep.ari:.3f}; PCA {pca}")
    assert sweep.nmi > 0.5  # the 5 PBMC types stay separated


def test_batch_conditional_variant_feeds_the_batch_to_encoder_and_decoder(small):
    torch.manual_seed(0)
    net = scdcc.ScDCCNet(n_genes=10, n_batch=3, sigma=0.0)
    assert net.encoder[0].in_features == 13 and net.decoder[0].in_features == 32 + 3
    x = torch.randn(4, 10)
    b0, b1 = torch.eye(3)[[0, 0, 0, 0]], torch.eye(3)[[1, 1, 1, 1]]
    assert not torch.equal(net.encode(x, b0), net.encode(x, b1))
    with pytest.raises(ValueError, match="one-hot"):
        net.encode(x)
    result = scdcc.run(small, "batch", seed=0, batch_conditional=True, **SHORT)
    stats = result.uns["scdcc"]
    assert stats["batch_conditional"] and not stats["uses_cell_type_labels"]
    assert result.embedding.shape == (small.n_obs, 32) and np.isfinite(result.embedding).all()
    onehot = scdcc.batch_onehot(small, "batch")
    assert onehot.shape == (small.n_obs, 2) and (onehot.sum(axis=1) == 1).all()


def _zinb_before(x, mean, disp, pi, scale_factor):
    """scDCC's ZINB loss as computed before the count terms were precomputed (per batch)."""
    eps = scdcc.ZINB_EPS
    mu = mean * scale_factor[:, None]
    t1 = torch.lgamma(disp + eps) + torch.lgamma(x + 1.0) - torch.lgamma(x + disp + eps)
    t2 = (disp + x) * torch.log(1.0 + mu / (disp + eps)) + x * (
        torch.log(disp + eps) - torch.log(mu + eps)
    )
    nb_case = t1 + t2 - torch.log(1.0 - pi + eps)
    zero_case = -torch.log(pi + (1.0 - pi) * torch.pow(disp / (disp + mu + eps), disp) + eps)
    return torch.mean(torch.where(x <= 1e-8, zero_case, nb_case))


def _slow_path(monkeypatch):
    """The training loop as it was before the speed-ups: advanced indexing, the ZINB count
    terms recomputed per batch, Adam's per-tensor loop."""
    adam = torch.optim.Adam
    monkeypatch.setattr(scdcc, "rows", lambda t, idx: t[idx])
    monkeypatch.setattr(
        scdcc.CountTerms,
        "zinb",
        lambda self, idx, mean, disp, pi: _zinb_before(
            self.counts[idx], mean, disp, pi, self.sf[idx]
        ),
    )
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **kw: adam(*a, **{**kw, "foreach": False}))


@pytest.mark.parametrize(
    "params",
    [{"label_informed": True, "n_pairwise": 60}, {"batch_conditional": True}],
    ids=["constraints", "batch_conditional"],
)
def test_speedups_leave_embedding_and_losses_bit_identical(small, monkeypatch, params):
    """Precomputed lgamma(counts + 1) and zero mask, index_select and foreach Adam give
    exactly the numbers of the per-batch, per-tensor code they replace."""
    kwargs = {**SHORT, "maxiter": 4, "snapshot_epochs": [0, 2], **params}
    fast = scdcc.run(small, "batch", seed=5, **kwargs)
    with monkeypatch.context() as patch:
        _slow_path(patch)
        slow = scdcc.run(small, "batch", seed=5, **kwargs)
    np.testing.assert_array_equal(fast.embedding, slow.embedding)
    np.testing.assert_array_equal(fast.snapshots[2], slow.snapshots[2])
    a, b = fast.uns["scdcc"], slow.uns["scdcc"]
    np.testing.assert_array_equal(a["pretrain_loss"], b["pretrain_loss"])
    assert a["clustering_epochs"] >= 1
    for key in ("loss", "kl", "zinb", "ml_loss", "cl_loss"):
        np.testing.assert_array_equal(a["clustering_history"][key], b["clustering_history"][key])
    np.testing.assert_array_equal(a["delta_label"], b["delta_label"])
    plain = scdcc.run(small, "batch", seed=5, **{**kwargs, "snapshot_epochs": []})
    np.testing.assert_array_equal(plain.embedding, fast.embedding)  # snapshots change nothing


def test_precomputed_count_terms_match_the_per_batch_zinb():
    gen = torch.Generator().manual_seed(3)
    counts = torch.poisson(torch.rand(50, 40, generator=gen) * 3, generator=gen)
    sf = torch.rand(50, generator=gen) + 0.5
    mean, disp = torch.rand(50, 40, generator=gen) * 4, torch.rand(50, 40, generator=gen) + 0.1
    pi = torch.rand(50, 40, generator=gen) * 0.5
    idx = torch.tensor([7, 3, 3, 41, 0])
    terms = scdcc.CountTerms.of(counts, sf)
    fast = terms.zinb(idx, mean[idx], disp[idx], pi[idx])
    slow = _zinb_before(counts[idx], mean[idx], disp[idx], pi[idx], sf[idx])
    assert torch.equal(fast, slow)
    assert torch.equal(
        scdcc.zinb_nll(counts, mean, disp, pi, sf), _zinb_before(counts, mean, disp, pi, sf)
    )
