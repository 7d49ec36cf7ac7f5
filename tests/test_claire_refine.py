"""Seed refinement: GMM on seed similarities, keeping the higher-mean component."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.data import simulated_data

from claire.pairs import find_seeds
from claire.params import ClaireParams
from claire.refine import (
    refine_seeds,
    seed_accuracy_by_label,
    seed_similarity,
    true_component_posterior,
    true_seed_fraction,
)
from claire.train import train_claire


def test_gmm_keeps_the_higher_mean_component_even_as_minority():
    rng = np.random.default_rng(0)
    high = rng.normal(0.9, 0.03, 150)  # minority: 15 %
    low = rng.normal(0.3, 0.05, 850)
    posterior = true_component_posterior(np.concatenate([high, low]))
    assert np.all(posterior[:150] > 0.99)
    assert np.all(posterior[150:] < 0.01)


def test_gmm_degenerate_inputs_keep_everything():
    assert np.all(true_component_posterior(np.array([0.5])) == 1)
    assert np.all(true_component_posterior(np.full(10, 0.7)) == 1)


def test_seed_similarity_is_cosine():
    emb = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    sim = seed_similarity(emb, np.array([[0, 1], [0, 2], [2, 2]]))
    np.testing.assert_allclose(sim, [0.0, np.sqrt(0.5), 1.0])


def test_refine_seeds_drops_low_similarity_seeds_and_reports_stats():
    rng = np.random.default_rng(1)
    n = 200
    labels = np.repeat([0, 1], n // 2)
    centres = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    emb = centres[labels] + rng.normal(0, 0.1, (n, 3))
    true = np.stack([rng.integers(0, 100, 120), rng.integers(0, 100, 120)], 1)
    false = np.stack([rng.integers(0, 100, 40), rng.integers(100, 200, 40)], 1)
    seeds = np.concatenate([true, false])
    kept, stats = refine_seeds(emb, seeds, eta=0.5, labels=labels, epoch=3)
    assert stats.epoch == 3 and stats.n_seeds_before == 160
    assert stats.n_seeds_after == len(kept) == 120
    assert stats.true_frac_before == pytest.approx(0.75)
    assert stats.true_frac_after == 1.0
    everything, _ = refine_seeds(emb, seeds, eta=0.0)
    assert len(everything) == 160


def test_refine_seeds_without_labels_has_no_true_fraction():
    emb = np.random.default_rng(2).normal(size=(30, 4))
    seeds = np.array([[0, 1], [2, 3], [4, 5]])
    _, stats = refine_seeds(emb, seeds)
    assert stats.true_frac_before is None and stats.true_frac_after is None
    assert true_seed_fraction(seeds, None) is None
    with pytest.raises(ValueError, match="eta"):
        refine_seeds(emb, seeds, eta=2.0)


def test_refinement_raises_share_of_true_seeds_with_injected_false_seeds():
    x, batch, labels = simulated_data()
    seeds = find_seeds(x, batch, seed=0)
    rng = np.random.default_rng(3)
    # inject false seeds: random cross-batch pairs of different cell types (20 % of all)
    n_false = len(seeds) // 4
    a, b = rng.integers(0, x.shape[0], (2, 8 * n_false))
    ok = (batch[a] != batch[b]) & (labels[a] != labels[b])
    false = np.sort(np.stack([a[ok], b[ok]], 1)[:n_false], axis=1)
    noisy = np.unique(np.concatenate([seeds, false]), axis=0)
    # dropout 0 and 3 epochs (15 steps) of stage 1: with dropout the evaluation embedding
    # of so few steps is nearly collapsed and separates true from false seeds less well
    params = ClaireParams.preset(
        "paper", epochs=4, refine_epoch=3, dropout=0.0, seed=0, device="cpu"
    )
    result = train_claire(x, batch, params, labels=labels, progress=False, seeds=noisy)
    stats = result.refinement
    assert stats["epoch"] == 3 and stats["n_seeds_before"] == len(noisy)
    assert stats["n_seeds_after"] < stats["n_seeds_before"]
    assert stats["true_frac_before"] < 0.85
    assert stats["true_frac_after"] > stats["true_frac_before"] + 0.05


def test_seed_accuracy_by_label_counts_each_seed_for_both_labels():
    labels = np.array(["a", "a", "b", "b", "c", "c"])
    seeds = np.array([[0, 1], [0, 2], [3, 4], [2, 3]])  # a-a true, a-b, b-c false, b-b true
    table = seed_accuracy_by_label(seeds, labels)
    assert list(table.index) == ["a", "b", "c"]
    assert table.loc["a"].to_dict() == {
        "cells": 2,
        "cells_with_seeds": 2,
        "seeds": 2,
        "true_share": 0.5,
    }
    assert table.loc["b", "seeds"] == 3 and table.loc["b", "true_share"] == pytest.approx(1 / 3)
    assert table.loc["b", "cells_with_seeds"] == 2
    assert table.loc["c", "cells_with_seeds"] == 1 and table.loc["c", "true_share"] == 0.0
    empty = seed_accuracy_by_label(np.empty((0, 2), dtype=int), labels)
    assert (empty["seeds"] == 0).all() and empty["true_share"].isna().all()
