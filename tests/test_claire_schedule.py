"""Training length (min_steps, refine_steps, stretched schedules), the paper's stopping rule,
presets and the reference code's options (zero queue, majority GMM component)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers.data import simulated_data

from claire import Claire
from claire.model import MoCo, info_nce
from claire.params import PRESETS, ClaireParams
from claire.refine import refine_seeds, true_component_posterior
from claire.schedule import PlateauRule, plan, plateau_epoch, replan, stretch_epoch
from claire.train import train_claire

torch.set_num_threads(1)


def test_min_steps_raises_epochs_and_stretches_every_epoch_schedule():
    params = ClaireParams(
        epochs=30,
        min_steps=1000,
        refine_epoch=4,
        refine_steps=0,
        lr_milestones=[10],
        snapshot_epochs=[0, 1, 15, 30],
        early_stop_window=5,
    )
    small = plan(params, steps_per_epoch=4)
    assert small.epochs == 250  # ceil(1000 / 4) > 30
    assert small.stretch == pytest.approx(250 / 30)
    assert small.refine_epoch == 33  # floor(4 * 8.33 + 0.5)
    assert small.lr_milestones == (83,)  # floor(83.3 + 0.5)
    assert small.snapshot_epochs == {0: 0, 1: 8, 15: 125, 30: 250}
    assert small.window == 42  # floor(41.7 + 0.5)
    assert small.min_stop_epoch == 250
    large = plan(params, steps_per_epoch=40)  # 30 * 40 = 1200 >= 1000: untouched
    assert (large.epochs, large.stretch, large.refine_epoch) == (30, 1.0, 4)
    assert large.snapshot_epochs == {0: 0, 1: 1, 15: 15, 30: 30}
    assert large.lr_milestones == (10,) and large.window == 5 and large.min_stop_epoch == 25


def test_the_paper_schedule_is_kept_on_paper_sized_data():
    """7,000 anchors at batch 256 make 27 steps per epoch: 120 epochs = 3,240 steps."""
    for params in (ClaireParams(), ClaireParams.preset("paper")):
        schedule = plan(params, steps_per_epoch=7000 // 256)
        assert (schedule.epochs, schedule.refine_epoch, schedule.stretch) == (120, 4, 1.0)


def test_default_floor_on_kang_sized_data():
    """1,556 cells, ~1,500 anchors: 6 steps per epoch; the default run's 30 epochs are 180
    steps, raised to 600 (100 epochs); the refinement moves from epoch 4 to 13."""
    schedule = plan(ClaireParams(epochs=30, snapshot_epochs=[1, 30]), steps_per_epoch=6)
    assert (schedule.epochs, schedule.refine_epoch) == (100, 13)
    assert schedule.snapshot_epochs == {1: 3, 30: 100}
    paper_length = plan(ClaireParams(epochs=120), steps_per_epoch=6)  # 720 >= 600 steps
    assert (paper_length.epochs, paper_length.refine_epoch) == (120, 9)  # ceil(50 / 6)


def test_replan_adds_epochs_when_the_refinement_shortens_epochs():
    params = ClaireParams(epochs=30, refine_epoch=4, refine_steps=0, snapshot_epochs=[1, 15, 30])
    before = plan(params, steps_per_epoch=6)  # 100 epochs, refinement after 13
    assert (before.epochs, before.refine_epoch) == (100, 13)
    assert before.snapshot_epochs == {1: 3, 15: 50, 30: 100}
    # 13 epochs x 6 = 78 steps done; 4 steps per epoch left: 13 + ceil(522 / 4) = 144
    after = replan(before, params, steps_done=78, steps_per_epoch=4)
    assert (after.epochs, after.min_stop_epoch, after.refine_epoch) == (144, 144, 13)
    # stage 2 stretched by 131 / 87: 50 -> 13 + floor(37 * 1.506 + 0.5) = 69
    assert after.snapshot_epochs == {1: 3, 15: 69, 30: 144}
    assert replan(before, params, steps_done=78, steps_per_epoch=6) == before  # 87 x 6 >= 522


def test_refinement_waits_for_refine_steps_and_is_dropped_when_too_late():
    params = ClaireParams(epochs=120, min_steps=0, refine_epoch=4, refine_steps=100)
    assert plan(params, steps_per_epoch=3).refine_epoch == 34  # ceil(100 / 3)
    assert plan(params, steps_per_epoch=30).refine_epoch == 4  # 4 * 30 >= 100 already
    short = ClaireParams(epochs=5, min_steps=0, refine_epoch=4, refine_steps=100)
    assert plan(short, steps_per_epoch=3).refine_epoch is None  # epoch 34 >= 5 epochs
    var2 = ClaireParams(variant="var2", refine_steps=100)
    assert plan(var2, steps_per_epoch=3).refine_epoch is None


def test_stretched_epochs_stay_distinct_and_ordered():
    for stretch in (1.0, 1.5, 2.5, 7.3):
        mapped = [stretch_epoch(e, stretch) for e in range(40)]
        assert mapped[0] == 0 and all(b > a for a, b in zip(mapped, mapped[1:], strict=False))


def test_plateau_rule_on_a_hand_computed_loss_sequence():
    # rise (queue filling), fall by 0.2 per epoch, flat; windows of 2 epochs, tol 0.01
    losses = [5.0, 7.0, 8.0, 8.0, 7.8, 7.6, 7.4, 7.2, 7.2, 7.2, 7.2]
    # end 4: 6 -> 8 rising (not armed); end 6: 8 -> 7.7, armed; end 10: 7.3 -> 7.2 falls
    # 0.05 per epoch; end 11: 7.2 -> 7.2 falls by 0 < 0.01: stop after epoch 11
    assert plateau_epoch(losses, window=2) == 11
    assert plateau_epoch(losses, window=2, start=5) == 11
    assert plateau_epoch(losses, window=2, min_epoch=12) is None
    assert plateau_epoch(losses[:10], window=2) is None
    assert plateau_epoch([7.0] * 20, window=3) is None  # never decreased: never armed


def test_plateau_rule_measures_the_decrease_per_nominal_epoch():
    # 10 epochs falling 0.1 per epoch, then 0.005 per epoch
    losses = [8.0 - 0.1 * e for e in range(10)] + [7.1 - 0.005 * e for e in range(1, 21)]
    # end 13: windows (7.1, 7.095) -> (7.09, 7.085): 0.01 over 2 epochs = 0.005 < 0.01
    assert plateau_epoch(losses, window=2) == 13
    # a run stretched x4: 0.005 per run epoch is 0.02 per nominal epoch, still falling
    assert plateau_epoch(losses, window=2, scale=4.0) is None
    with pytest.raises(ValueError, match="window"):
        PlateauRule(window=0)


def test_gmm_majority_component_versus_higher_mean():
    rng = np.random.default_rng(0)
    sim = np.concatenate([rng.normal(0.9, 0.03, 150), rng.normal(0.3, 0.05, 850)])
    higher = true_component_posterior(sim, component="higher_mean")
    majority = true_component_posterior(sim, component="majority")
    assert np.all(higher[:150] > 0.99) and np.all(higher[150:] < 0.01)
    assert np.all(majority[:150] < 0.01) and np.all(majority[150:] > 0.99)
    # a majority of high-similarity seeds: both choices agree
    flipped = np.concatenate([rng.normal(0.9, 0.03, 850), rng.normal(0.3, 0.05, 150)])
    np.testing.assert_allclose(
        true_component_posterior(flipped, component="majority"),
        true_component_posterior(flipped, component="higher_mean"),
    )
    with pytest.raises(ValueError, match="component"):
        true_component_posterior(sim, component="lower")


def test_refine_seeds_with_majority_keeps_the_low_similarity_majority():
    # 2-d embedding: 4 true seeds (identical cells), 12 false seeds (orthogonal-ish cells)
    rng = np.random.default_rng(4)
    emb = rng.normal(size=(32, 2))
    seeds = np.stack([np.arange(0, 32, 2), np.arange(1, 32, 2)], axis=1)
    emb[seeds[:4, 1]] = emb[seeds[:4, 0]]  # cosine 1
    emb[seeds[4:, 1]] = emb[seeds[4:, 0]] @ np.array([[0.0, -1.0], [1.0, 0.0]])  # cosine 0
    emb[seeds[4:, 1]] += rng.normal(0, 0.05, (12, 2))
    kept_high, _ = refine_seeds(emb, seeds, eta=0.5)
    kept_major, _ = refine_seeds(emb, seeds, eta=0.5, component="majority")
    np.testing.assert_array_equal(kept_high, seeds[:4])
    np.testing.assert_array_equal(kept_major, seeds[4:])


def test_zero_queue_gives_constant_negative_logits():
    zeros = MoCo(64, latent_dim=8, queue_size=16, queue_init="zeros")
    assert torch.count_nonzero(zeros.queue) == 0
    rand = MoCo(64, latent_dim=8, queue_size=16, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(rand.queue.norm(dim=1), torch.ones(16))
    q = torch.nn.functional.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(1)))
    k = torch.nn.functional.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(2)))
    tau, size = 0.07, 16
    pos = (q * k).sum(1).double() / tau
    # every negative logit is 0: loss = mean(log(exp(pos) + K) - pos)
    expected = float(torch.mean(torch.log(torch.exp(pos) + size) - pos))
    assert float(info_nce(q, k, zeros.queue, tau)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="queue_init"):
        MoCo(64, queue_init="ones")


def test_presets():
    assert set(PRESETS) == {"default", "paper", "reference"}
    assert ClaireParams.preset("default") == ClaireParams()
    paper = ClaireParams.preset("paper")
    assert paper.min_steps == 0 and paper.refine_steps == 0 and paper.epochs == 120
    assert paper.k_filter == 200 and paper.k_filter_share is None  # Seurat's fixed filter
    assert ClaireParams().k_filter_share == 0.1
    ref = ClaireParams.preset("reference", epochs=30)
    assert (ref.temperature, ref.relu_before_norm, ref.queue_init, ref.gmm_component) == (
        0.07,
        True,
        "zeros",
        "majority",
    )
    assert ref.min_steps == 0 and ref.epochs == 30 and ref.dropout == 0.3
    assert ClaireParams.from_dict({"preset": "reference", "epochs": 30}) == ref
    assert Claire(preset="reference", epochs=30).params == ref
    with pytest.raises(ValueError, match="preset"):
        ClaireParams.preset("authors")
    with pytest.raises(ValueError, match="queue_init"):
        ClaireParams(queue_init="ones")
    with pytest.raises(ValueError, match="gmm_component"):
        ClaireParams(gmm_component="lower")
    with pytest.raises(ValueError, match="min_steps"):
        ClaireParams(min_steps=-1)
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match="k_filter_share"):
            ClaireParams(k_filter_share=share)


@pytest.fixture(scope="module")
def small():
    x, batch, labels = simulated_data(n_cells=900, n_genes=400)
    return x, batch, labels


def test_training_runs_min_steps_with_mapped_snapshots_and_refinement(small):
    x, batch, labels = small
    params = ClaireParams(
        epochs=2,
        min_steps=10,
        refine_epoch=1,
        refine_steps=0,
        snapshot_epochs=[1, 2],
        device="cpu",
    )
    result = train_claire(x, batch, params, labels=labels, progress=False)
    plan_ = result.schedule
    spe = plan_["steps_per_epoch"]
    assert spe == result.history[0]["steps"] >= 1
    steps = [row["steps"] for row in result.history]
    assert sum(steps) >= 10 > sum(steps[:-1])  # min_steps reached, not one epoch more
    assert plan_["epochs"] == len(steps) == result.stopped_epoch and not result.early_stopped
    stage1_epochs = math.ceil(10 / spe)
    refine = stretch_epoch(1, stage1_epochs / 2)
    assert result.refinement["epoch"] == plan_["refine_epoch"] == refine
    assert plan_["snapshot_epochs"]["2"] == len(steps)
    assert sorted(result.snapshots) == sorted(plan_["snapshot_epochs"].values())
    np.testing.assert_array_equal(result.snapshots[len(steps)], result.embedding)


def test_early_stop_ends_training_where_the_rule_says(small):
    x, batch, _ = small
    params = ClaireParams(
        epochs=40,
        min_steps=0,
        refine_epoch=None,
        early_stop=True,
        early_stop_window=1,
        early_stop_tol=0.0,
        snapshot_epochs=[40],
        device="cpu",
        lr=1e-3,
    )
    result = train_claire(x, batch, params, progress=False)
    losses = [row["loss"] for row in result.history]
    assert result.early_stopped and result.stopped_epoch == len(losses) < 40
    assert plateau_epoch(losses, window=1, tol=0.0) == result.stopped_epoch
    np.testing.assert_array_equal(result.snapshots[40], result.embedding)  # after the stop
