"""Metrics on awkward input: clear errors, failed methods, snapshots, extended metrics."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers.data import blobs

from claire.bench.contract import InputError
from claire.bench.methods.base import result_adata
from claire.bench.metrics import MetricSettings, batch_asw, compute_all, kbet
from claire.bench.metrics.evaluate import (
    metrics_record,
    training_curve,
    unintegrated_matrix,
    write_record,
)

FAST = MetricSettings(resolutions=(0.5, 1.0))


@pytest.fixture(scope="module")
def data() -> ad.AnnData:
    return blobs(n_cells=300, seed=2)


def test_one_batch_is_an_input_error(data):
    with pytest.raises(InputError, match="only one batch"):
        compute_all(data.obsm["X_emb"], np.full(data.n_obs, "b0"), data.obs["cell_type"])
    with pytest.raises(InputError, match="only one batch"):
        kbet(data.obsm["X_emb"], np.full(data.n_obs, "b0"))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_embedding_is_an_input_error(data, bad):
    emb = data.obsm["X_emb"].copy()
    emb[3, 1] = bad
    with pytest.raises(InputError, match="NaN/inf"):
        compute_all(emb, data.obs["batch"], data.obs["cell_type"])


def test_embedding_with_wrong_row_count_is_an_input_error(data):
    with pytest.raises(InputError, match=r"299 rows for 300 cells"):
        compute_all(data.obsm["X_emb"][1:], data.obs["batch"], data.obs["cell_type"])
    with pytest.raises(InputError, match="2-D"):
        batch_asw(data.obsm["X_emb"][:, 0], data.obs["batch"], data.obs["cell_type"])


def test_missing_labels_and_tiny_inputs_are_input_errors(data):
    labels = data.obs["cell_type"].astype(object).to_numpy()
    labels[7] = None
    with pytest.raises(InputError, match="missing"):
        compute_all(data.obsm["X_emb"], data.obs["batch"], labels)
    with pytest.raises(InputError, match="at least 16"):
        compute_all(data.obsm["X_emb"][::20], data.obs["batch"][::20], data.obs["cell_type"][::20])
    with pytest.raises(InputError, match="obsm"):
        compute_all(data, embedding_key="X_nothing")


def test_unused_categories_change_nothing(data):
    values = compute_all(data, settings=FAST)
    padded = data.copy()
    for key in ("batch", "cell_type"):
        padded.obs[key] = padded.obs[key].cat.add_categories([f"absent_{key}"])
    assert compute_all(padded, settings=FAST) == pytest.approx(values, nan_ok=True)


def test_settings_from_config_block():
    settings = MetricSettings.from_config(
        {"k": 10, "resolutions": [0.5, 1], "seed": None, "threads": 3, "mem_mb": 100}, seed=4
    )
    assert (settings.k, settings.resolutions, settings.seed, settings.n_jobs) == (
        10,
        (0.5, 1.0),
        4,
        3,
    )
    assert MetricSettings.from_config({"seed": 9}, seed=4, n_jobs=1).seed == 9
    with pytest.raises(ValueError, match="alpha"):
        MetricSettings(alpha=1.5)


def failed_result(data: ad.AnnData) -> ad.AnnData:
    return result_adata(data, None, "broken", {}, 0, 1.0, error="RuntimeError: out of memory")


def test_failed_method_gives_a_failed_record_without_values(data, tmp_path):
    record = metrics_record(failed_result(data), "ds", "broken", FAST)
    assert record == {
        "dataset": "ds",
        "method": "broken",
        "repeat": 0,
        "status": "failed",
        "error": "RuntimeError: out of memory",
        "n_cells": 300,
    }
    assert training_curve(failed_result(data), FAST).empty


def test_ok_record_is_strict_json_with_every_metric(data, tmp_path):
    result = result_adata(data, data.obsm["X_emb"], "pca", {}, 0, 1.0)
    record = metrics_record(result, "ds", "pca", FAST)
    assert record["status"] == "ok" and record["error"] == ""
    assert {"basw", "kbet", "ari", "nmi", "casw", "best_resolution"} <= set(record)
    record["basw"] = float("nan")  # an undefined metric is written as null
    path = tmp_path / "m.json"
    write_record(record, path)
    loaded = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert loaded["basw"] is None and loaded["kbet"] == pytest.approx(record["kbet"])
    assert not list(tmp_path.glob("*.tmp"))


def test_training_curve_scores_every_snapshot_in_epoch_order(data):
    result = result_adata(data, data.obsm["X_emb"], "claire", {}, 0, 1.0)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=data.obsm["X_emb"].shape).astype(np.float32)
    result.obsm["X_emb_epoch_10"] = data.obsm["X_emb"]
    result.obsm["X_emb_epoch_2"] = noise  # no structure at all
    curve = training_curve(result, FAST)
    assert list(curve.columns) == ["epoch", "basw", "kbet", "ari", "nmi"]
    assert curve["epoch"].tolist() == [2, 10]
    direct = compute_all(result, settings=FAST, embedding_key="X_emb_epoch_10")
    assert curve.iloc[1][["basw", "kbet", "ari", "nmi"]].tolist() == pytest.approx(
        [direct[m] for m in ("basw", "kbet", "ari", "nmi")]
    )
    assert curve["nmi"].iloc[0] < 0.2 < curve["nmi"].iloc[1]
    assert curve["kbet"].iloc[0] > curve["kbet"].iloc[1]  # noise mixes batches perfectly


def test_training_curve_reuses_the_final_record_for_the_last_snapshot(data):
    result = result_adata(data, data.obsm["X_emb"], "claire", {}, 0, 1.0)
    result.obsm["X_emb_epoch_30"] = data.obsm["X_emb"].copy()  # the final embedding
    result.obsm["X_emb_epoch_1"] = data.obsm["X_emb"][:, ::-1].copy()
    final = {"status": "ok", "basw": 0.11, "kbet": 0.22, "ari": 0.33, "nmi": 0.44}
    curve = training_curve(result, FAST, final).set_index("epoch")
    assert curve.loc[30].tolist() == [0.11, 0.22, 0.33, 0.44]  # taken, not recomputed
    direct = compute_all(result, settings=FAST, embedding_key="X_emb_epoch_1")
    assert curve.loc[1, "nmi"] == pytest.approx(direct["nmi"])
    failed = training_curve(result, FAST, {"status": "failed"}).set_index("epoch")
    assert failed.loc[30, "nmi"] == pytest.approx(compute_all(result, settings=FAST)["nmi"])


def test_unintegrated_matrix_follows_the_result_cell_order(data):
    pre = ad.AnnData(X=np.arange(300 * 4, dtype=np.float32).reshape(300, 4), obs=data.obs)
    result = data[::-1].copy()
    x = unintegrated_matrix(pre, result)
    np.testing.assert_array_equal(x[0], pre.X[-1])
    with pytest.raises(InputError, match="not in the preprocessed"):
        unintegrated_matrix(pre[:10].copy(), result)


def test_extended_metrics_equal_scib_metrics(data):
    import scib_metrics
    from scib_metrics.nearest_neighbors import NeighborsResults
    from sklearn.neighbors import NearestNeighbors

    emb = data.obsm["X_emb"]
    labels, batches = data.obs["cell_type"].to_numpy(), data.obs["batch"].to_numpy()
    rng = np.random.default_rng(1)
    batch_effect = 4.0 * pd.get_dummies(batches).to_numpy(dtype=float)  # before integration
    x_pre = np.hstack([emb, batch_effect, rng.normal(size=(data.n_obs, 20))]).astype(np.float32)
    settings = MetricSettings(resolutions=(1.0,), extended=True, lisi_k=45)
    values = compute_all(emb, batches, labels, settings=settings, x_pre=x_pre)

    dist, idx = NearestNeighbors(n_neighbors=45).fit(emb.astype(np.float64)).kneighbors(emb)
    neighbours = NeighborsResults(indices=idx, distances=dist)
    small = NeighborsResults(indices=idx[:, :15], distances=dist[:, :15])
    expected = {
        "ilisi": scib_metrics.ilisi_knn(neighbours, batches),
        "clisi": scib_metrics.clisi_knn(neighbours, labels),
        "graph_conn": scib_metrics.graph_connectivity(small, labels),
        "isolated_labels": scib_metrics.isolated_labels(emb, labels, batches),
        "pcr": scib_metrics.pcr_comparison(x_pre, emb, batches, categorical=True, n_components=12),
    }
    for name, value in expected.items():
        assert values[name] == pytest.approx(float(value), abs=1e-5), name
    assert 0.0 < values["pcr"] < 1.0


def test_extended_without_unintegrated_data_leaves_pcr_undefined(data):
    settings = MetricSettings(resolutions=(1.0,), extended=True, lisi_k=30)
    values = compute_all(data, settings=settings)
    assert np.isnan(values["pcr"]) and 0.0 <= values["ilisi"] <= 1.0


def test_duplicated_cells_do_not_break_the_metrics():
    base = blobs(n_cells=200, seed=4)
    twice = ad.concat([base, base], index_unique="-")
    twice.obs = twice.obs.astype({"batch": "category", "cell_type": "category"})
    values = compute_all(twice, settings=FAST)
    assert all(np.isfinite(values[m]) for m in ("basw", "kbet", "ari", "nmi", "casw"))
    # trajectory conservation is NaN without a pseudotime_key (blobs have none)
    assert np.isnan(values["trajectory"])
    assert pd.Series(values).drop("trajectory").between(0, 2).all()
