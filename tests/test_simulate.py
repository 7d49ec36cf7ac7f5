"""The embedded count simulator: a moderate batch effect, separable types, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from claire.bench.methods.pca import scaled_pca
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts

TWO_BATCHES = dict(n_cells=1500, n_genes=1500, n_batches=2, n_cell_types=5, seed=3)


@pytest.fixture(scope="module")
def two_batches():
    return simulate_counts(**TWO_BATCHES)


@pytest.fixture(scope="module")
def two_batches_pca(two_batches):
    return scaled_pca(preprocess(two_batches, n_hvg=1000), n_comps=30, seed=0)


def test_counts_are_integer_csr(two_batches):
    X = two_batches.X
    assert X.format == "csr" and X.dtype == np.float32
    assert np.all(X.data == np.round(X.data)) and X.data.min() > 0
    assert 0.02 < X.nnz / np.prod(X.shape) < 0.6  # sparse like real droplet data


def test_same_seed_same_matrix_other_seed_differs():
    kwargs = dict(n_cells=300, n_genes=200, n_batches=3, n_cell_types=4)
    a, b = simulate_counts(seed=7, **kwargs), simulate_counts(seed=7, **kwargs)
    c = simulate_counts(seed=8, **kwargs)
    assert (a.X != b.X).nnz == 0
    assert a.obs.equals(b.obs)
    assert a.shape != c.shape or (a.X != c.X).nnz > 0


def _same_batch_share(pcs: np.ndarray, batch: np.ndarray) -> float:
    idx = NearestNeighbors(n_neighbors=16).fit(pcs).kneighbors(return_distance=False)
    return float((batch[idx] == batch[:, None]).mean())


def _same_batch_if_mixed(batch: np.ndarray, labels: np.ndarray) -> float:
    """Expected same-batch share of neighbours of the same type if batches were mixed."""
    table = pd.crosstab(labels, batch)
    share = table.div(table.sum(axis=1), axis=0)
    return float(np.mean([share.loc[t, b] for t, b in zip(labels, batch, strict=True)]))


def test_batch_effect_is_real_but_moderate(two_batches, two_batches_pca):
    """Neighbourhoods lean to their own batch, as in real data, but batches still meet."""
    batch = two_batches.obs["batch"].cat.codes.to_numpy()
    labels = two_batches.obs["cell_type"].to_numpy()
    same_batch = _same_batch_share(two_batches_pca, batch)
    mixed = _same_batch_if_mixed(batch, labels)
    assert mixed + 0.05 < same_batch < 0.97
    twin = simulate_counts(**TWO_BATCHES, batch_effect=0.0, lib_batch_range=0.0)
    assert twin.obs.equals(two_batches.obs)  # the batch-free twin has the same cells
    twin_pca = scaled_pca(preprocess(twin, n_hvg=1000), n_comps=30, seed=0)
    assert abs(_same_batch_share(twin_pca, batch) - mixed) < 0.03


def test_batch_factors_follow_their_parameters():
    kwargs = dict(n_cells=200, n_genes=4000, n_batches=2, n_cell_types=3, seed=4)
    adata = simulate_counts(batch_effect=0.5, batch_gene_prob=0.2, **kwargs)
    var = adata.var  # genes without any count were dropped: expressed genes only
    carries = var["batch_gene"].to_numpy()
    assert abs(carries.mean() - 0.2) < 0.03
    full = np.log(var[[f"batch_factor_batch{b}_type{t}" for b in (1, 2) for t in (1, 2, 3)]])
    assert np.all(full.to_numpy()[~carries] == 0.0)
    logs = full.to_numpy()[carries]
    assert logs.std() == pytest.approx(0.5, rel=0.08)
    # batch_type_specific 0.6: two types of one batch share 40 % of the log-variance
    same_batch = np.corrcoef(logs[:, 0], logs[:, 1])[0, 1]
    assert same_batch == pytest.approx(0.4, abs=0.08)
    shared = simulate_counts(batch_effect=0.5, batch_type_specific=0.0, **kwargs).var
    assert np.allclose(shared["batch_factor_batch1_type1"], shared["batch_factor_batch1_type3"])
    assert np.allclose(shared["batch_factor_batch1_type1"], shared["batch_factor_batch1"])


def test_library_shifts_spread_evenly_over_the_range():
    adata = simulate_counts(
        n_cells=2000, n_genes=300, n_batches=5, n_cell_types=3, lib_batch_range=0.8, seed=6
    )
    shifts = np.array(list(adata.uns["simulation"]["lib_shift"].values()))
    np.testing.assert_allclose(np.sort(shifts), np.linspace(-0.4, 0.4, 5))
    totals = np.log(np.asarray(adata.X.sum(axis=1)).ravel())
    batch = adata.obs["batch"].to_numpy()
    medians = np.array(
        [np.median(totals[batch == b]) for b in adata.uns["simulation"]["lib_shift"]]
    )
    np.testing.assert_allclose(medians - medians.mean(), shifts - shifts.mean(), atol=0.05)


def test_cell_types_separable_within_each_batch(two_batches, two_batches_pca):
    batch = two_batches.obs["batch"].to_numpy()
    labels = two_batches.obs["cell_type"].to_numpy()
    for b in np.unique(batch):
        mask = batch == b
        acc = cross_val_score(KNeighborsClassifier(15), two_batches_pca[mask], labels[mask], cv=3)
        assert acc.mean() > 0.9, (b, acc)


def test_partial_overlap_and_imbalance():
    adata = simulate_counts(
        n_cells=3000,
        n_genes=300,
        n_batches=5,
        n_cell_types=8,
        partial_overlap=True,
        n_shared_types=2,
        seed=5,
    )
    table = adata.obs.groupby(["batch", "cell_type"], observed=False).size().unstack(fill_value=0)
    present = table > 0
    in_all = present.all(axis=0)
    assert in_all.sum() == 2  # exactly the shared types are in every batch
    assert (~present).to_numpy().sum() > 0  # others are missing from some batches
    shares = table.div(table.sum(axis=1), axis=0).to_numpy()
    assert shares[present.to_numpy()].max() > 3 * shares[present.to_numpy()].min()  # imbalanced
    sizes = adata.obs["batch"].value_counts()
    assert sizes.min() >= 10


def test_invalid_parameters():
    with pytest.raises(ValueError, match="n_batches"):
        simulate_counts(n_cells=100, n_genes=50, n_batches=1)
    with pytest.raises(ValueError, match="batch_gene_prob"):
        simulate_counts(n_cells=100, n_genes=50, batch_gene_prob=1.5)
    with pytest.raises(ValueError, match="batch_type_specific"):
        simulate_counts(n_cells=100, n_genes=50, batch_type_specific=-0.1)
    with pytest.raises(ValueError, match="n_shared_types"):
        simulate_counts(
            n_cells=100, n_genes=50, n_cell_types=3, partial_overlap=True, n_shared_types=5
        )


def test_library_size_differs_between_batches(two_batches):
    totals = np.asarray(two_batches.X.sum(axis=1)).ravel()
    per_batch = [np.median(totals[two_batches.obs["batch"] == b]) for b in ("batch1", "batch2")]
    assert per_batch[0] != pytest.approx(per_batch[1], rel=0.02)
    sc.pp.calculate_qc_metrics(two_batches, inplace=True)
    assert two_batches.obs["n_genes_by_counts"].min() > 50


def test_trajectory_scenario_has_stages_branches_and_lineage_pseudotimes():
    raw = simulate_counts(
        n_cells=600, n_genes=400, n_batches=3, n_cell_types=6, trajectory=True, seed=3
    )
    obs = raw.obs
    assert list(obs["cell_type"].cat.categories) == [
        "stem_early", "stem_late", "branch1_early", "branch1_late", "branch2_early", "branch2_late"
    ]  # fmt: skip
    assert obs["batch"].nunique() == 3
    stem = obs["branch"] == "stem"
    assert (obs.loc[stem, "pseudotime"] < 0.4).all() and (obs.loc[~stem, "pseudotime"] >= 0.4).all()
    early = obs["cell_type"] == "stem_early"
    assert (
        obs.loc[early, "pseudotime"].max()
        < obs.loc[obs["cell_type"] == "stem_late", "pseudotime"].min()
    )
    for j in (1, 2):
        on = stem | (obs["branch"] == f"branch{j}")
        column = obs[f"pseudotime_lineage{j}"]
        assert column[on].equals(obs.loc[on, "pseudotime"]) and column[~on].isna().all()
    # expression follows pseudotime: the stem's DE genes move with it along the stem
    counts = raw.X.toarray()
    x = np.log1p(1e4 * counts / counts.sum(axis=1, keepdims=True))
    up, down = raw.var["de_stem"] > 1, raw.var["de_stem"] < 1
    score = x[:, up.to_numpy()].mean(axis=1) - x[:, down.to_numpy()].mean(axis=1)
    rho = pd.Series(score[stem.to_numpy()]).corr(
        pd.Series(obs.loc[stem, "pseudotime"].to_numpy()), method="spearman"
    )
    assert rho > 0.5
    again = simulate_counts(
        n_cells=600, n_genes=400, n_batches=3, n_cell_types=6, trajectory=True, seed=3
    )
    assert (again.X != raw.X).nnz == 0
    with pytest.raises(ValueError, match="n_cell_types must be 4"):
        simulate_counts(n_cell_types=6, trajectory=True, n_branches=1)
