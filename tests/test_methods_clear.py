"""CLEAR reimplementation: InfoNCE with queue, MoCo step order, the five augmentations
(probabilities, effects, unchanged input), seeding, and quality on real data (Kang)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers.scoring import assert_beats_pca

from claire.bench.competitors import clear
from claire.bench.contract import InputError
from claire.bench.methods.base import run_method

torch.set_num_threads(1)


# ------------------------------------------------------------------ loss and MoCo


def hand_info_nce(q: np.ndarray, k: np.ndarray, queue: np.ndarray, t: float) -> float:
    """-log softmax of the positive logit, averaged, written out with plain NumPy."""
    losses = []
    for qi, ki in zip(q, k, strict=True):
        logits = np.concatenate([[qi @ ki], qi @ queue]) / t
        losses.append(-logits[0] + np.log(np.exp(logits).sum()))
    return float(np.mean(losses))


def test_info_nce_matches_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    queue = torch.tensor([[1.0, -1.0], [0.0, 0.0]])  # two unit keys as columns
    loss, logits = clear.info_nce(q, k, queue, temperature=0.2)
    # row 1: [0.6, 1, -1] / 0.2 = [3, 5, -5]; row 2: [1, 0, 0] / 0.2 = [5, 0, 0]
    torch.testing.assert_close(logits, torch.tensor([[3.0, 5.0, -5.0], [5.0, 0.0, 0.0]]))
    row1 = -3 + math.log(math.exp(3) + math.exp(5) + math.exp(-5))
    row2 = -5 + math.log(math.exp(5) + 2)
    assert loss.item() == pytest.approx((row1 + row2) / 2, rel=1e-6)
    rng = np.random.default_rng(0)
    qs, ks = (F.normalize(torch.from_numpy(rng.normal(size=(5, 3))), dim=1) for _ in range(2))
    qu = F.normalize(torch.from_numpy(rng.normal(size=(3, 7))), dim=0)
    loss, _ = clear.info_nce(qs, ks, qu, 0.2)
    assert loss.item() == pytest.approx(hand_info_nce(qs.numpy(), ks.numpy(), qu.numpy(), 0.2))


def _forward(encoder: clear.MLPEncoder, params: list[torch.Tensor], x: torch.Tensor):
    w1, b1, w2, b2 = params
    return F.normalize(torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2), dim=1)


def test_moco_step_momentum_first_one_direction_then_enqueue():
    torch.manual_seed(0)
    model = clear.MoCo(n_genes=6, dim=4, queue_size=4, momentum=0.9, temperature=0.2)
    assert torch.allclose(model.queue.norm(dim=0), torch.ones(4))  # unit random columns
    with torch.no_grad():
        for p in model.encoder_q.parameters():
            p.add_(0.3 * torch.randn_like(p))  # make the two encoders differ
    theta_q = [p.detach().clone() for p in model.encoder_q.parameters()]
    theta_k = [p.detach().clone() for p in model.encoder_k.parameters()]
    queue = model.queue.clone()
    v1, v2 = torch.randn(2, 6), torch.randn(2, 6)
    loss, _ = model(v1, v2)
    updated = [0.9 * k + 0.1 * q for k, q in zip(theta_k, theta_q, strict=True)]
    for got, want in zip(model.encoder_k.parameters(), updated, strict=True):
        torch.testing.assert_close(got.detach(), want)
    k = _forward(model.encoder_k, updated, v2)  # keys from the already-updated encoder
    q = _forward(model.encoder_q, theta_q, v1)
    want = hand_info_nce(q.numpy(), k.numpy(), queue.numpy(), 0.2)  # the old queue
    assert loss.item() == pytest.approx(want, rel=1e-5)
    torch.testing.assert_close(model.queue[:, :2], k.T)  # enqueued after the loss
    torch.testing.assert_close(model.queue[:, 2:], queue[:, 2:])
    assert int(model.queue_ptr) == 2
    loss.backward()
    assert all(p.grad is None for p in model.encoder_k.parameters())
    assert all(p.grad is not None for p in model.encoder_q.parameters())


def test_learning_rate_schedules():
    assert clear.epoch_lr(1.0, 0, 100, cos=True) == 1.0
    assert clear.epoch_lr(1.0, 50, 100, cos=True) == pytest.approx(0.5)
    want = 0.5 * (1 + math.cos(0.75 * math.pi))
    assert clear.epoch_lr(1.0, 75, 100, cos=True) == pytest.approx(want)
    assert clear.epoch_lr(5e-3, 99, 200, cos=False) == 5e-3
    assert clear.epoch_lr(5e-3, 100, 200, cos=False) == pytest.approx(5e-4)
    assert clear.epoch_lr(5e-3, 130, 200, cos=False) == pytest.approx(5e-5)


# ------------------------------------------------------------------ augmentations


def only(op: str, prob: float = 1.0) -> clear.AugmentConfig:
    probs = tuple(prob if name == op else 0.0 for name in clear.OPERATIONS)
    return clear.AugmentConfig(probs=probs)


@pytest.fixture()
def pool() -> torch.Tensor:
    return torch.rand(300, 40, generator=torch.Generator().manual_seed(0)) + 1.0


@pytest.fixture()
def cells() -> torch.Tensor:  # not part of the pool, so every donor value is new
    return torch.rand(200, 40, generator=torch.Generator().manual_seed(1)) + 5.0


def test_each_augmentation_is_applied_with_probability_one_half(pool, cells):
    gen = torch.Generator().manual_seed(2)
    cfg = clear.AugmentConfig()
    flags = torch.cat([clear.augment(cells, pool, cfg, gen)[1] for _ in range(50)]).float()
    n = flags.shape[0]  # 10,000 views
    freq = flags.mean(dim=0)
    assert torch.all((freq - 0.5).abs() < 4 * math.sqrt(0.25 / n)), freq
    assert flags.all(dim=1).float().mean().item() == pytest.approx(1 / 32, abs=0.01)
    # the effect, not the flag: a view differs from its cell exactly when the op was drawn
    for op in clear.OPERATIONS:
        changed, applied = [], []
        for _ in range(25):
            out, flag = clear.augment(cells, pool, only(op, 0.5), gen)
            changed.append((out != cells).any(dim=1))
            applied.append(flag[:, clear.OPERATIONS.index(op)])
        changed, applied = torch.cat(changed), torch.cat(applied)
        assert changed.float().mean().item() == pytest.approx(0.5, abs=0.03), op
        assert (changed & ~applied).sum() == 0, op
        assert (applied & ~changed).float().mean() < 0.01, op  # e.g. a swap with itself


def test_mask_noise_swap_sizes(pool, cells):
    gen = torch.Generator().manual_seed(3)
    g = cells.shape[1]
    out, _ = clear.augment(cells, pool, only("mask"), gen)
    assert ((out == 0).sum(dim=1) == int(0.2 * g)).all()
    assert torch.equal(out[out != 0], cells[out != 0])
    out, _ = clear.augment(cells, pool, only("noise"), gen)
    assert ((out != cells).sum(dim=1) == int(0.8 * g)).all()
    assert (out - cells)[out != cells].std().item() == pytest.approx(0.5, rel=0.05)
    out, _ = clear.augment(cells, pool, only("swap"), gen)
    # values move within the cell (repeated genes can duplicate one, as in NumPy)
    assert (out[:, :, None] == cells[:, None, :]).any(dim=2).all()
    assert ((out != cells).sum(dim=1) <= 2 * int(g * 0.1 / 2)).all()


def test_swap_follows_numpy_tuple_assignment_with_repeated_genes():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 8))
    pairs = rng.integers(8, size=(50, 5, 2))  # many repeats among 8 genes
    expected = x.copy()
    for row, p in zip(expected, pairs, strict=True):
        row[p[:, 0]], row[p[:, 1]] = row[p[:, 1]], row[p[:, 0]]
    got = clear.swap_genes(torch.from_numpy(x), torch.from_numpy(pairs))
    np.testing.assert_array_equal(got.numpy(), expected)


def test_crossover_and_replacement_take_values_from_the_pool(pool, cells):
    gen = torch.Generator().manual_seed(5)
    g = cells.shape[1]
    size = int(0.25 * g)
    out, _ = clear.augment(cells, pool, only("crossover"), gen)
    for row in range(cells.shape[0]):
        genes = (out[row] != cells[row]).nonzero().squeeze(1)
        assert len(genes) == size
        donors = (pool[:, genes] == out[row, genes]).all(dim=1)
        assert donors.any()  # one cell gave all of them
    out, _ = clear.augment(cells, pool, only("replace"), gen)
    changed = out != cells
    assert (changed.sum(dim=1) == size).all()
    rows, genes = changed.nonzero(as_tuple=True)
    assert (pool[:, genes] == out[rows, genes]).any(dim=0).all()  # each from some cell
    one_donor = [
        (pool[:, changed[r]] == out[r, changed[r]]).all(dim=1).any().item()
        for r in range(cells.shape[0])
    ]
    assert not any(one_donor)  # independent donors per gene, unlike the crossover


def test_augmentations_leave_the_input_and_the_pool_unchanged(pool):
    """Upstream's crossover wrote the cell into the shared data; here nothing is written."""
    before = pool.clone()
    gen = torch.Generator().manual_seed(6)
    cfg = clear.AugmentConfig.with_prob(1.0)
    batch = pool[:64]
    batch_before = batch.clone()
    for _ in range(20):
        clear.augment(batch, pool, cfg, gen)
    assert torch.equal(pool, before)
    assert torch.equal(batch, batch_before)


# ------------------------------------------------------------------ runs


def test_same_seed_same_embedding(small):
    params = {"epochs": 3, "progress": False, "device": "cpu", "snapshot_epochs": [0, 2]}
    first = clear.run(small, "batch", 7, **params)
    again = clear.run(small, "batch", 7, **params)
    np.testing.assert_array_equal(first.embedding, again.embedding)
    for epoch in (0, 2):
        np.testing.assert_array_equal(first.snapshots[epoch], again.snapshots[epoch])
    assert first.embedding.shape == (small.n_obs, 128)
    np.testing.assert_allclose(np.linalg.norm(first.embedding, axis=1), 1.0, rtol=1e-5)
    assert not np.array_equal(first.snapshots[0], first.embedding)
    other = clear.run(small, "batch", 8, **params)
    assert not np.array_equal(first.embedding, other.embedding)
    stats = first.uns["clear"]
    assert stats["batch_size"] == stats["queue_size"] == small.n_obs  # < 512 cells
    assert stats["loss"].shape == (3,) and np.isfinite(stats["loss"]).all()


def test_bad_input_is_named(small):
    with pytest.raises(InputError, match="no_such_column"):
        clear.run(small, "no_such_column", seed=0)
    with pytest.raises(InputError, match="multiple"):
        clear.run(small, "batch", seed=0, batch_size=100, queue_size=250)


def test_clear_on_kang_mixes_better_than_pca_and_keeps_cell_types(kang, kang_pca):
    """A short run on 1,556 cells: upstream's batch 512 gives 3 steps per epoch, and the key
    encoder (the output) moves 0.1 % per step, so 100 default epochs leave it mostly at its
    random init (NMI 0.53 vs PCA's 0.73, measured). The short run therefore takes batch
    128, a cosine lr of 0.01 and key momentum 0.99; the test checks the training works."""
    params = {
        "epochs": 25,
        "batch_size": 128,
        "lr": 0.01,
        "cos": True,
        "momentum": 0.99,
        "progress": False,
    }
    result = run_method(kang, "clear", clear.run, params, seed=0, record_errors=False)
    emb = result.obsm["X_emb"]
    assert emb.shape == (kang.n_obs, 128)
    stats = result.uns["clear"]
    assert stats["loss"][-1] < stats["loss"][0] and stats["accuracy"][-1] > stats["accuracy"][0]
    assert_beats_pca("clear", emb, kang, kang_pca)
