"""Positive-pair construction (paper eq. 1-2) and the device CSR row gather."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from claire.construct import DeviceCSR, PositivePairSampler

N_CELLS, N_GENES, K = 40, 12, 3


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    x = sp.random(N_CELLS, N_GENES, density=0.4, random_state=0, format="csr", dtype=np.float32)
    keep = np.ones(N_CELLS, dtype=np.float32)
    keep[5] = 0  # an empty row
    x = sp.csr_matrix(sp.diags(keep) @ x)
    x.eliminate_zeros()
    seeds = np.array([[0, 20], [0, 21], [1, 22], [2, 23], [3, 20], [4, 30]])
    knn = rng.integers(0, N_CELLS, (N_CELLS, K))
    return x, seeds, knn


def seed_partners(seeds: np.ndarray) -> dict[int, set[int]]:
    partners: dict[int, set[int]] = {}
    for a, b in seeds.tolist():
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return partners


def test_device_csr_rows_equal_dense_rows_with_repeats_and_empty_rows(setup):
    x, _, _ = setup
    data = DeviceCSR(x)
    idx = torch.tensor([5, 3, 3, 0, 39, 5, 17])
    np.testing.assert_array_equal(data.rows(idx).numpy(), x.toarray()[idx.numpy()])
    assert data.rows(torch.tensor([], dtype=torch.long)).shape == (0, N_GENES)


def test_anchors_are_the_cells_with_seeds(setup):
    _, seeds, knn = setup
    sampler = PositivePairSampler(seeds, knn)
    assert set(sampler.anchors.tolist()) == set(np.unique(seeds).tolist())
    sampler.set_seeds(seeds[:2])
    assert set(sampler.anchors.tolist()) == {0, 20, 21}


def test_epoch_visits_each_anchor_at_most_once(setup):
    _, seeds, knn = setup
    sampler = PositivePairSampler(seeds, knn)
    generator = torch.Generator().manual_seed(0)
    batches = list(sampler.epoch(4, generator))
    assert len(batches) == sampler.n_anchors // 4 == sampler.n_steps(4)
    seen = torch.cat(batches).tolist()
    assert len(seen) == len(set(seen)) == 4 * len(batches)
    assert len(list(sampler.epoch(1000, generator))) == 1  # fewer anchors than a batch


def test_draw_uses_seed_partners_and_knns(setup):
    _, seeds, knn = setup
    sampler = PositivePairSampler(seeds, knn, alpha=0.5)
    partners = seed_partners(seeds)
    generator = torch.Generator().manual_seed(1)
    anchors = sampler.anchors.repeat(20)
    rows, _, _, partner = sampler.draw(anchors, generator)
    i, i_nb, j, j_nb = (r.numpy() for r in rows)
    for a, p, a_nb, p_nb in zip(i, j, i_nb, j_nb, strict=True):
        assert p in partners[a]
        assert a_nb in knn[a] and p_nb in knn[p]
    assert np.array_equal(partner.numpy(), j)
    # every partner of cell 0 gets drawn
    assert set(j[i == 0].tolist()) == partners[0]


def test_lambda_range_and_fresh_draws(setup):
    _, seeds, knn = setup
    alpha = 0.6
    sampler = PositivePairSampler(seeds, knn, alpha=alpha)
    generator = torch.Generator().manual_seed(2)
    anchors = sampler.anchors.repeat(500)
    _, lam1, lam2, _ = sampler.draw(anchors, generator)
    for lam in (lam1, lam2):
        assert lam.min() >= alpha and lam.max() <= 1.0
        assert lam.min() < alpha + 0.01 and lam.max() > 1.0 - 0.01  # spans U(alpha, 1)
        assert abs(float(lam.mean()) - (alpha + 1) / 2) < 0.01
    assert not torch.equal(lam1, lam2)


def test_views_are_the_mixup_of_eq_1_2(setup):
    x, seeds, knn = setup
    dense = x.toarray()
    sampler = PositivePairSampler(seeds, knn, alpha=0.5)
    data = DeviceCSR(x)
    anchors = sampler.anchors
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    rows, lam1, lam2, _ = sampler.draw(anchors, g1)
    v1, v2 = sampler.views(data, anchors, g2)  # same random stream -> same draw
    i, i_nb, j, j_nb = (r.numpy() for r in rows)
    l1, l2 = lam1.numpy()[:, None], lam2.numpy()[:, None]
    np.testing.assert_allclose(v1.numpy(), l1 * dense[i] + (1 - l1) * dense[i_nb], rtol=1e-6)
    np.testing.assert_allclose(v2.numpy(), l2 * dense[j] + (1 - l2) * dense[j_nb], rtol=1e-6)


def test_both_views_change_across_draws(setup):
    x, seeds, knn = setup
    sampler = PositivePairSampler(seeds, knn, alpha=0.5)
    data = DeviceCSR(x)
    generator = torch.Generator().manual_seed(4)
    anchors = sampler.anchors
    first = sampler.views(data, anchors, generator)
    second = sampler.views(data, anchors, generator)
    for a, b in zip(first, second, strict=True):
        changed = (a - b).abs().sum(dim=1) > 0
        assert changed.float().mean() > 0.8


def test_var1_uses_all_cells_mnn_or_knn_partners_without_mixup(setup):
    x, seeds, knn = setup
    dense = x.toarray()
    sampler = PositivePairSampler(seeds, knn, construction=False)
    assert sampler.n_anchors == N_CELLS
    partners = seed_partners(seeds)
    generator = torch.Generator().manual_seed(5)
    anchors = torch.arange(N_CELLS).repeat(5)
    rows, lam1, lam2, partner = sampler.draw(anchors, generator)
    assert torch.all(lam1 == 1) and torch.all(lam2 == 1)
    for a, p in zip(anchors.tolist(), partner.tolist(), strict=True):
        assert p in partners[a] if a in partners else p in knn[a]
    v1, v2 = sampler.views(DeviceCSR(x), anchors, torch.Generator().manual_seed(5))
    np.testing.assert_array_equal(v1.numpy(), dense[anchors.numpy()])
    np.testing.assert_array_equal(v2.numpy(), dense[partner.numpy()])


def test_invalid_inputs_raise(setup):
    _, seeds, knn = setup
    with pytest.raises(ValueError, match="alpha"):
        PositivePairSampler(seeds, knn, alpha=1.5)
    with pytest.raises(ValueError, match="out of range"):
        PositivePairSampler(np.array([[0, N_CELLS]]), knn)
