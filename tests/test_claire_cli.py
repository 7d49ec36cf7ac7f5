"""`python -m claire` on real data (CellBench, ../shared/data), CPU."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pytest
from helpers.workflow import integration_path, run_claire_cli, run_snakemake, tiny_dataset

from claire.bench.contract import to_standard_raw
from claire.bench.preprocess import preprocess


@pytest.fixture(scope="module")
def cellbench_h5ad(cellbench_raw, tmp_path_factory):
    raw = to_standard_raw(cellbench_raw, "batch", "celltype", name="cellbench")
    path = tmp_path_factory.mktemp("cli") / "cellbench_pp.h5ad"
    preprocess(raw, n_hvg=1000, name="cellbench").write_h5ad(path)
    return path


def test_cli_trains_on_real_data_and_writes_embedding(cellbench_h5ad, tmp_path):
    out = tmp_path / "out" / "claire.h5ad"
    params = json.dumps({"refine_epoch": 2, "temperature": 0.07})
    done = run_claire_cli(
        str(cellbench_h5ad),
        str(out),
        "--batch-key",
        "batch",
        "--label-key",
        "cell_type",
        "--params",
        params,
        "--preset",
        "paper",
        "--epochs",
        "4",
        "--snapshot-epochs",
        "1",
        "4",
        "--device",
        "cpu",
        "--quiet",
        "--log",
        str(tmp_path / "claire.log"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = ad.read_h5ad(out)
    source = ad.read_h5ad(cellbench_h5ad)
    assert list(result.obs_names) == list(source.obs_names)
    emb = result.obsm["X_emb"]
    assert emb.shape == (source.n_obs, 128) and emb.dtype == np.float32
    assert np.all(np.isfinite(emb))
    assert {"X_emb_epoch_1", "X_emb_epoch_4"} <= set(result.obsm)
    np.testing.assert_array_equal(result.obsm["X_emb_epoch_4"], emb)
    info = result.uns["claire"]
    assert info["device"] == "cpu"
    assert info["params"]["temperature"] == pytest.approx(0.07)
    assert info["params"]["epochs"] == 4
    assert info["preset"] == "paper" and info["params"]["min_steps"] == 0
    assert info["stopped_epoch"] == 4 and info["schedule"]["epochs"] == 4
    refinement = info["refinement"]
    assert refinement["epoch"] == 2
    assert refinement["true_frac_after"] >= refinement["true_frac_before"] > 0.8
    log_text = (tmp_path / "claire.log").read_text()
    assert "epoch 4/4 loss" in log_text


def test_cli_reports_bad_batch_key_without_writing(cellbench_h5ad, tmp_path):
    out = tmp_path / "never.h5ad"
    done = run_claire_cli(str(cellbench_h5ad), str(out), "--batch-key", "nope", "--epochs", "1")
    assert done.returncode == 2
    assert "batch key 'nope'" in done.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_cli_rejects_unknown_parameter(cellbench_h5ad, tmp_path):
    done = run_claire_cli(
        str(cellbench_h5ad),
        str(tmp_path / "x.h5ad"),
        "--batch-key",
        "batch",
        "--params",
        '{"foo": 1}',
    )
    assert done.returncode == 2
    assert "unknown CLAIRE parameter" in done.stderr


def test_workflow_rule_integrate_claire_writes_the_contract(tmp_path):
    """Rule integrate (runner claire) on a tiny simulated dataset, with a per-dataset
    override; the ablation claire_var2 takes claire's overrides (registry `base`)."""
    dataset = tiny_dataset(n_cells=400, n_genes=300, n_batches=2)
    dataset["method_params"] = {"claire": {"refine_epoch": 1}}
    params = {"preset": "paper", "epochs": 2, "snapshot_epochs": [1, 2], "k_filter": 50}
    config = {
        "results": "results",
        "seed": 3,
        "datasets": {"tiny": dataset},
        "methods": ["claire", "claire_var2"],
        "method_params": {"claire": params},
    }
    targets = tuple(integration_path("tiny", m) for m in ("claire", "claire_var2"))
    done = run_snakemake(tmp_path, config, targets)
    assert done.returncode == 0, done.stderr[-4000:]
    full = ad.read_h5ad(tmp_path / targets[0])
    info = full.uns["integration"]
    assert info["status"] == "ok" and info["method"] == "claire" and info["seed"] == 3
    assert json.loads(info["params"])["refine_epoch"] == 1  # the dataset's override
    assert full.obsm["X_emb"].shape == (full.n_obs, 128)
    assert {"X_emb_epoch_1", "X_emb_epoch_2"} <= set(full.obsm)
    assert full.uns["claire"]["refinement"]["epoch"] == 1
    var2 = ad.read_h5ad(tmp_path / targets[1])
    assert var2.uns["claire"]["refinement"]["epoch"] is None
    assert json.loads(var2.uns["integration"]["params"])["epochs"] == 2  # claire's override
    log = tmp_path / integration_path("tiny", "claire", kind="log")
    assert "epoch 2/2 loss" in log.read_text()
    assert (tmp_path / integration_path("tiny", "claire", kind="benchmark")).exists()


def test_workflow_records_a_failing_claire_run(tmp_path):
    """on_method_error=record: an impossible setting gives a 'failed' result, not a crash."""
    config = {
        "results": "results",
        "on_method_error": "record",
        "datasets": {"tiny": tiny_dataset(n_cells=400, n_genes=300, n_batches=2)},
        "methods": ["claire"],
        "method_params": {"claire": {"epochs": 2, "device": "no-such-device"}},
    }
    target = integration_path("tiny", "claire")
    done = run_snakemake(tmp_path, config, (target,))
    assert done.returncode == 0, done.stderr[-4000:]
    result = ad.read_h5ad(tmp_path / target)
    assert result.uns["integration"]["status"] == "failed"
    assert "no-such-device" in result.uns["integration"]["error"]
    assert result.obsm["X_emb"].shape == (result.n_obs, 0)
