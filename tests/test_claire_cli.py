"""`python -m claire` on real data (CellBench, ../shared/data), CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import anndata as ad
import numpy as np
import pytest
from conftest import ROOT

from claire.bench.contract import to_standard_raw
from claire.bench.preprocess import preprocess


@pytest.fixture(scope="module")
def cellbench_h5ad(cellbench_raw, tmp_path_factory):
    raw = to_standard_raw(cellbench_raw, "batch", "celltype", name="cellbench")
    path = tmp_path_factory.mktemp("cli") / "cellbench_pp.h5ad"
    preprocess(raw, n_hvg=1000, name="cellbench").write_h5ad(path)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "claire", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_cli_trains_on_real_data_and_writes_embedding(cellbench_h5ad, tmp_path):
    out = tmp_path / "out" / "claire.h5ad"
    params = json.dumps({"refine_epoch": 2, "temperature": 0.07})
    done = run_cli(
        str(cellbench_h5ad),
        str(out),
        "--batch-key",
        "batch",
        "--label-key",
        "cell_type",
        "--params",
        params,
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
    refinement = info["refinement"]
    assert refinement["epoch"] == 2
    assert refinement["true_frac_after"] >= refinement["true_frac_before"] > 0.8
    log_text = (tmp_path / "claire.log").read_text()
    assert "epoch 4/4 loss" in log_text


def test_cli_reports_bad_batch_key_without_writing(cellbench_h5ad, tmp_path):
    out = tmp_path / "never.h5ad"
    done = run_cli(str(cellbench_h5ad), str(out), "--batch-key", "nope", "--epochs", "1")
    assert done.returncode == 2
    assert "batch key 'nope'" in done.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_cli_rejects_unknown_parameter(cellbench_h5ad, tmp_path):
    done = run_cli(
        str(cellbench_h5ad),
        str(tmp_path / "x.h5ad"),
        "--batch-key",
        "batch",
        "--params",
        '{"foo": 1}',
    )
    assert done.returncode == 2
    assert "unknown CLAIRE parameter" in done.stderr
