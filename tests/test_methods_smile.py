"""SMILE reimplementation: losses by hand, BatchNorm inference modes, seeding, real data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers.data import kang_preprocessed
from helpers.scoring import baseline_mixing, mixing

from claire.bench.competitors import smile
from claire.bench.contract import AdapterResult, InputError
from claire.bench.methods import pca
from claire.bench.metrics import nmi_ari

torch.set_num_threads(1)


def nt_xent_loops(u: np.ndarray, v: np.ndarray, t: float) -> float:
    """SMILE's ContrastiveLoss written as plain loops over the 2N rows."""
    z = np.concatenate([u, v]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2, n = len(z), len(u)
    total = 0.0
    for i in range(n2):
        pos = (i + n) % n2
        denom = sum(math.exp(z[i] @ z[k] / t) for k in range(n2) if k != i)
        total += -math.log(math.exp(z[i] @ z[pos] / t) / denom)
    return total / n2


def test_nt_xent_closed_form_on_orthonormal_pairs():
    """u = v = (e1, e2): each row sees its positive (cos 1) and two orthogonal rows."""
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    for t in (0.05, 0.5, 1.0):
        expected = math.log(1 + 2 * math.exp(-1 / t))
        assert float(smile.nt_xent(u, u.clone(), t)) == pytest.approx(expected, rel=1e-5)


def test_nt_xent_matches_loops_on_random_rows():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    got = float(smile.nt_xent(torch.tensor(u), torch.tensor(v), 0.5))
    assert got == pytest.approx(nt_xent_loops(u, v, 0.5), rel=1e-10)
    # scaling a row does not matter (cosine similarity)
    scaled = float(smile.nt_xent(torch.tensor(u * 3.0), torch.tensor(v), 0.5))
    assert scaled == pytest.approx(got, rel=1e-10)


def test_cluster_level_loss_contrasts_assignment_columns():
    """Hard assignments of 4 cells to 2 clusters: the columns (1,1,0,0) and (0,0,1,1) are
    orthogonal, so the cluster term is log(1 + 2 exp(-1/0.15)); the instance term on
    features f1 = f2 = (e1, e2, e1, e2) is computed with the loops."""
    y = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    cluster = math.log(1 + 2 * math.exp(-1 / 0.15))
    instance = nt_xent_loops(f.numpy(), f.numpy(), 0.05)
    got = float(smile.smile_loss(f, f.clone(), y, y.clone(), f_temp=0.05, p_temp=0.15))
    assert got == pytest.approx(instance + cluster, rel=1e-5)
    rng = np.random.default_rng(1)
    y1, y2 = rng.dirichlet(np.ones(3), 6), rng.dirichlet(np.ones(3), 6)
    got = float(smile.nt_xent(torch.tensor(y1).T, torch.tensor(y2).T, 0.15))
    assert got == pytest.approx(nt_xent_loops(y1.T, y2.T, 0.15), rel=1e-10)


def test_architecture_and_init():
    net = smile.SmileNet(n_genes=37, n_clusters=25, feature_dim=32)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (37, 1000),
        (1000, 512),
        (512, 128),
        (128, 32),
        (128, 25),
    ]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules()) == 3
    net.apply(smile.xavier_init)
    assert all(float(m.bias.detach().abs().max()) == 0.0 for m in linears)
    bound = math.sqrt(6 / (37 + 1000))
    assert float(linears[0].weight.detach().abs().max()) <= bound
    f, y = net.train()(torch.randn(8, 37))
    assert f.shape == (8, 32) and y.shape == (8, 25)
    torch.testing.assert_close(y.sum(dim=1), torch.ones(8))


def test_zscore_is_population_standardisation():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    z = smile.zscore(x)
    np.testing.assert_allclose(z[:, 0], [-1.224745, 0.0, 1.224745], rtol=1e-5)
    np.testing.assert_array_equal(z[:, 1], 0.0)


def test_inference_chunks():
    assert smile.inference_chunks(1030, 512) == [slice(0, 512), slice(512, 1024), slice(1024, 1030)]
    assert smile.inference_chunks(1025, 512) == [slice(0, 512), slice(512, 1025)]
    assert smile.inference_chunks(100, 512) == [slice(0, 100)]


def test_train_mode_embedding_normalises_each_chunk_on_its_own():
    """bn_eval=False: a cell's embedding depends on the cells of its 4-cell chunk only;
    bn_eval=True: on nothing but the cell. Running statistics survive embedding."""
    torch.manual_seed(0)
    net = smile.SmileNet(6)
    net.train()(torch.randn(16, 6) * 3 + 1)  # non-trivial running statistics
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(12, 6)
    shuffled = x.clone()
    shuffled[4:8] = x[[7, 6, 5, 4]]  # permute inside the second chunk
    shuffled[8:] = torch.randn(4, 6)  # replace the third chunk
    train_a, train_b = smile.embed(net, x, False, 4), smile.embed(net, shuffled, False, 4)
    np.testing.assert_allclose(train_a[:4], train_b[:4], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(train_a[[7, 6, 5, 4]], train_b[4:8], rtol=1e-5, atol=1e-6)
    eval_a, eval_b = smile.embed(net, x, True, 4), smile.embed(net, x[:5], True, 4)
    np.testing.assert_allclose(eval_a[:5], eval_b, rtol=1e-6, atol=1e-6)
    assert not np.allclose(eval_a, train_a)
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, before[key])
    assert net.training
    with torch.no_grad():
        chunk = net.encoder(x[4:8]).numpy()  # train mode: the chunk's own statistics
    np.testing.assert_allclose(train_a[4:8], chunk, rtol=1e-5, atol=1e-6)


def test_same_seed_same_embedding_and_snapshots(small):
    params = dict(epochs=3, batch_size=64, lr=1e-2, snapshot_epochs=[0, 2, 3, 9], progress=False)
    first = smile.run(small, "batch", seed=3, **params)
    again = smile.run(small, "batch", seed=3, **params)
    other = smile.run(small, "batch", seed=4, **params)
    assert isinstance(first, AdapterResult)
    assert first.embedding.shape == (small.n_obs, 128)
    np.testing.assert_array_equal(first.embedding, again.embedding)
    assert not np.array_equal(first.embedding, other.embedding)
    assert sorted(first.snapshots) == [0, 2, 3]  # 9 is beyond the run
    np.testing.assert_array_equal(first.snapshots[3], first.embedding)
    assert not np.array_equal(first.snapshots[0], first.snapshots[2])
    stats = first.uns["smile"]
    assert len(stats["loss"]) == 3 and stats["steps_per_epoch"] == small.n_obs // 64
    np.testing.assert_allclose(stats["loss_sum"], stats["loss"] * (small.n_obs // 64))


def test_bad_input_is_named(small):
    with pytest.raises(InputError, match="no_such_column"):
        smile.run(small, "no_such_column", seed=0)
    with pytest.raises(InputError, match="batch_size"):
        smile.run(small, "batch", seed=0, batch_size=512)


def test_beats_pca_on_kang_under_both_bn_modes(kang_raw):
    """Short training (20 epochs, lr 1e-2: Kang has 3 steps per epoch); both embeddings of
    one trained network mix batches better than PCA and keep NMI within 0.1 of PCA's."""
    kang = kang_preprocessed(kang_raw)
    labels = kang.obs["cell_type"].to_numpy()
    base = baseline_mixing(kang)
    base_nmi = nmi_ari(pca.run(kang, "batch", 0), labels).nmi
    settings = smile.SmileSettings(epochs=20, lr=1e-2, progress=False)
    fit = smile.train_smile(smile.zscore(kang.X), settings, seed=0)
    assert fit.losses[-1] < 0.5 * fit.losses[0]
    for bn_eval in (False, True):
        emb = smile.embed(fit.net, fit.data, bn_eval)
        scores, nmi = mixing(emb, kang), nmi_ari(emb, labels).nmi
        assert scores.beats(base), f"bn_eval={bn_eval}: {scores} vs PCA {base}"
        assert nmi > base_nmi - 0.1, f"bn_eval={bn_eval}: NMI {nmi} vs PCA {base_nmi}"
