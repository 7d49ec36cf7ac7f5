"""Batch-effect signatures: hand-computed cases, and the simulator inside the real range."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import yaml

from claire.bench import batch_signatures as bs
from claire.bench.contract import to_standard_raw
from claire.bench.simulate import simulate_counts

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def test_anova_r2_matches_hand_computation():
    values = np.array([[1.0, 0.0], [3.0, 1.0], [5.0, 0.0], [7.0, 1.0]])
    groups = np.array([0, 0, 1, 1])
    # column 0: group means 2 and 6 around 4 -> between 16 of total 20
    np.testing.assert_allclose(bs.anova_r2(values, groups), [16 / 20, 0.0])


def test_partial_r2_ignores_composition_and_sees_a_shift():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 400)
    batches = np.concatenate([np.repeat([0, 1], [350, 50]), np.repeat([0, 1], [50, 350])])
    type_only = 5.0 * labels + rng.normal(size=800)
    assert bs.anova_r2(type_only[:, None], batches)[0] > 0.3  # composition looks like batch
    assert bs.partial_batch_r2(type_only[:, None], batches, labels)[0] < 0.01
    shifted = type_only + 2.0 * batches
    total = shifted.var() * 800
    within = [shifted[(labels == t) & (batches == b)] for t in (0, 1) for b in (0, 1)]
    type_means = [shifted[labels == t].mean() for t in (0, 1)]
    hand = sum(len(g) * (g.mean() - type_means[i // 2]) ** 2 for i, g in enumerate(within))
    got = bs.partial_batch_r2(shifted[:, None], batches, labels)[0]
    assert got == pytest.approx(hand / total, rel=1e-9)


def test_within_type_omega2_near_zero_without_effect_and_exact_with_one():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 300)
    batches = np.tile([0, 1], 450)
    noise = rng.normal(size=(900, 400))
    assert abs(bs.within_type_omega2(noise, batches, labels).mean()) < 0.003
    shift = 1.0 * batches  # half the cells +1: between-batch variance 1/4 of unit noise
    column = (noise[:, 0] + shift)[:, None]
    assert bs.within_type_omega2(column, batches, labels)[0] == pytest.approx(0.25 / 1.25, abs=0.04)


def test_half_effect_share():
    assert bs.half_effect_share(np.array([4.0, 1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.2)
    assert bs.half_effect_share(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.5)
    # noise-corrected effects can be negative: they lower the total
    assert bs.half_effect_share(np.array([3.0, 1.0, -1.0, 1.0])) == pytest.approx(0.25)
    assert bs.half_effect_share(np.array([-1.0, 0.0])) == 0.0


def test_log_shift_removes_type_levels():
    labels = np.repeat([0, 1], 100)
    batches = np.tile([0, 1], 100)
    values = np.where(labels == 0, 1000.0, 8000.0) * np.where(batches == 1, 2.0, 1.0)
    assert bs.log_shift(values, batches, labels) == pytest.approx(1.0)


def _clusters(shift_sign: np.ndarray, n: int = 400, dim: int = 10, seed: int = 2):
    """Two types 10 apart on axis 0; batch 1 shifted by 2 * sign[type] on axis 1."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n)
    batches = np.tile([0, 1], n)
    points = rng.normal(scale=0.5, size=(2 * n, dim))
    points[:, 0] += 10.0 * labels
    points[:, 1] += 2.0 * shift_sign[labels] * batches
    return points, batches, labels


def test_batch_to_type_ratio_and_consistency():
    points, batches, labels = _clusters(np.array([1.0, 1.0]))
    # equal batches: each group sits 1 from its type centre; type centres 10 apart
    assert bs.batch_to_type_ratio(points, batches, labels) == pytest.approx(0.1, abs=0.005)
    assert bs.shift_consistency(points, batches, labels) == pytest.approx(1.0, abs=0.01)
    points, batches, labels = _clusters(np.array([1.0, -1.0]))
    assert bs.shift_consistency(points, batches, labels) == pytest.approx(-1.0, abs=0.01)
    points, batches, labels = _clusters(np.array([0.0, 0.0]))
    assert bs.batch_to_type_ratio(points, batches, labels) < 0.01  # noise corrected


def test_shuffle_within_keeps_composition():
    labels = np.repeat(["a", "b"], [30, 20])
    batches = np.array(["x"] * 25 + ["y"] * 5 + ["x"] * 4 + ["y"] * 16)
    shuffled = bs.shuffle_within(batches, labels, seed=3)
    for t in ("a", "b"):
        mask = labels == t
        assert sorted(shuffled[mask]) == sorted(batches[mask])
    assert not np.array_equal(shuffled, batches)


def test_pairwise_gap_sees_what_the_nearest_batch_hides():
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 300)
    batches = np.tile([0, 1, 2], 200)
    points = rng.normal(size=(600, 5))
    points[:, 0] += 20.0 * labels
    points[:, 1] += 3.0 * (batches == 2)  # batches 0 and 1 alike, batch 2 apart
    ref = bs.mixing_reference(points, batches, labels)
    nearest_gap = ref["basw_floor"] - ref["basw"]
    pairs_gap = bs.pairwise_basw_gap(points, batches, labels)
    by_pair = {}
    for pair in ((0, 1), (0, 2), (1, 2)):
        keep = np.isin(batches, pair)
        ref_pair = bs.mixing_reference(points[keep], batches[keep], labels[keep])
        by_pair[pair] = ref_pair["basw_floor"] - ref_pair["basw"]
    assert pairs_gap == pytest.approx(np.mean(list(by_pair.values())), abs=1e-6)
    assert by_pair[(0, 1)] < 0.02 < 0.1 < min(by_pair[(0, 2)], by_pair[(1, 2)])
    assert pairs_gap > 2 * nearest_gap  # batch 0's and 1's cells see only each other
    assert ref["kbet"] < 0.5 * ref["kbet_ceiling"]


def _default_scenarios() -> dict[str, dict]:
    """The default run's simulated scenarios (config/config.yaml), at most 3,000 cells."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    out = {}
    for name, spec in config["datasets"].items():
        source = dict(spec["source"])
        if source.pop("type") == "simulated":
            source["n_cells"] = min(source.get("n_cells", 3000), 3000)
            out[name] = (source, spec.get("n_hvg", 2000))
    return out


@pytest.mark.parametrize("name", sorted(_default_scenarios()))
def test_default_simulated_scenarios_sit_inside_the_real_range(name):
    source, n_hvg = _default_scenarios()[name]
    signature = bs.batch_signature(simulate_counts(**source), n_hvg=n_hvg).as_dict()
    assert bs.outside_real_range(signature) == [], signature


def test_splatter_batch_model_lies_outside_the_real_range():
    """The check can fail: the old model (a factor on every gene) is flagged."""
    raw = simulate_counts(
        n_cells=1200,
        n_genes=1500,
        n_batches=2,
        n_cell_types=6,
        batch_effect=0.3,
        batch_gene_prob=1.0,
        batch_type_specific=0.0,
        lib_batch_range=0.0,
        lib_batch_shift=0.4,
        lib_loc=8.5,
        composition_alpha=1.5,
        seed=1,
    )
    outside = bs.outside_real_range(bs.batch_signature(raw, n_hvg=1000).as_dict())
    assert {"pca_basw", "basw_gap_pairs", "shift_consistency"} <= set(outside)


@pytest.mark.parametrize("name", sorted(bs.REAL_DATASETS))
def test_real_signatures_are_the_recorded_ones(name):
    spec = bs.REAL_DATASETS[name]
    path = SHARED_DATA / spec["file"]
    if not path.exists():
        pytest.skip(f"real data {path} not found")
    raw = to_standard_raw(ad.read_h5ad(path), spec["batch"], spec["label"], name=name)
    signature = bs.batch_signature(raw, n_hvg=spec["n_hvg"]).as_dict()
    for key, recorded in bs.REAL_SIGNATURES[name].items():
        assert signature[key] == pytest.approx(recorded, abs=0.003), key
