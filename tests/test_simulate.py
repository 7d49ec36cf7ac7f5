"""The embedded count simulator: a real batch effect, separable types, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from claire.bench.methods.pca import scaled_pca
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts


@pytest.fixture(scope="module")
def two_batches():
    return simulate_counts(n_cells=1500, n_genes=1500, n_batches=2, n_cell_types=5, seed=3)


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


def test_pca_neighbourhoods_are_dominated_by_batch(two_batches, two_batches_pca):
    batch = two_batches.obs["batch"].cat.codes.to_numpy()
    idx = NearestNeighbors(n_neighbors=16).fit(two_batches_pca).kneighbors(return_distance=False)
    same_batch = (batch[idx] == batch[:, None]).mean()
    expected_if_mixed = np.sum((np.bincount(batch) / batch.size) ** 2)
    assert same_batch > 0.95
    assert same_batch > expected_if_mixed + 0.3


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
