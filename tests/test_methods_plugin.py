"""The plug-in interface: a method from outside the package (one adapter file plus one
method registry entry) runs through the real workflow; a failing method is recorded and
the run goes on. This is the README's worked example of adding a Python method."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers.workflow import PCA_PARAMS, ROOT, integration_path, run_snakemake, tiny_dataset

from claire.bench.contract import InputError
from claire.bench.methods.base import load_adapter, run_method

TOY = ROOT / "tests" / "plugins" / "toy_method.py"


def toy_entry(**params) -> dict:
    """Registry entry of the toy plug-in, by file path (one entry, no code change)."""
    return {
        "runner": "python",
        "module": str(TOY),
        "label": "Toy",
        "family": "external",
        "params": params,
    }


SMALL = {"n_batches": 2, "seed": 3}  # the shared `small` fixture (conftest): 300 cells, 200 HVGs


def test_toy_plugin_loads_from_a_file_and_centres_each_batch(small):
    adapter = load_adapter(str(TOY))
    result = run_method(small, "toy", adapter, {"n_comps": 6}, seed=0)
    emb = result.obsm["X_emb"]
    assert emb.shape == (small.n_obs, 6)
    assert result.uns["integration"]["status"] == "ok"
    assert json.loads(result.uns["integration"]["params"]) == {"n_comps": 6}
    batches = small.obs["batch"].to_numpy()
    for batch in np.unique(batches):
        np.testing.assert_allclose(emb[batches == batch].mean(axis=0), 0, atol=1e-4)


def test_failing_plugin_is_recorded_or_raised(small):
    adapter = load_adapter(str(TOY))
    failed = run_method(small, "toy", adapter, {"fail": True}, seed=0)
    assert failed.uns["integration"]["status"] == "failed"
    assert "toy method failed on purpose" in failed.uns["integration"]["error"]
    assert failed.obsm["X_emb"].shape == (small.n_obs, 0)
    with pytest.raises(RuntimeError, match="failed on purpose"):
        run_method(small, "toy", adapter, {"fail": True}, seed=0, record_errors=False)


def test_missing_plugin_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_adapter(str(tmp_path / "nope.py"))


@pytest.mark.slow
def test_workflow_runs_a_registered_plugin_and_records_a_failing_one(tmp_path):
    registry = {"toy": toy_entry(), "toy_broken": {**toy_entry(fail=True), "label": "toy_broken"}}
    config = {
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["pca", "toy", "toy_broken"],
        "method_params": {**PCA_PARAMS, "toy": {"n_comps": 8}},
    }
    targets = ("results/tables/raw_metrics.csv", "results/tables/benchmark.md")
    proc = run_snakemake(tmp_path, config, targets=targets, registry=registry)
    assert proc.returncode == 0, proc.stderr[-3000:]

    toy = ad.read_h5ad(tmp_path / integration_path("tiny", "toy"))
    assert toy.uns["integration"]["status"] == "ok"
    assert toy.obsm["X_emb"].shape == (toy.n_obs, 8)
    assert np.isfinite(toy.obsm["X_emb"]).all()
    bench = tmp_path / integration_path("tiny", "toy", kind="benchmark")
    assert bench.read_text().startswith("s\t")

    broken = ad.read_h5ad(tmp_path / integration_path("tiny", "toy_broken"))
    assert broken.uns["integration"]["status"] == "failed"
    assert "failed on purpose" in broken.uns["integration"]["error"]
    log = (tmp_path / integration_path("tiny", "toy_broken", kind="log")).read_text()
    assert "Traceback" in log and "failed on purpose" in log

    # the failure shows up in the tables; the other methods are scored
    raw = pd.read_csv(tmp_path / "results/tables/raw_metrics.csv").set_index("method")
    assert raw.loc["toy_broken", "status"] == "failed"
    assert "failed on purpose" in raw.loc["toy_broken", "error"]
    assert raw.loc["toy", "status"] == raw.loc["pca", "status"] == "ok"
    assert 0 <= raw.loc["toy", "kbet"] <= 1
    assert "toy_broken failed" in (tmp_path / "results/tables/benchmark.md").read_text()

    # on_method_error: raise stops the job instead, without leaving a result file behind
    config["on_method_error"] = "raise"
    config["methods"] = ["toy_broken"]
    target = integration_path("tiny", "toy_broken")
    (tmp_path / target).unlink()
    proc = run_snakemake(tmp_path, config, targets=(target,), registry=registry)
    assert proc.returncode != 0
    assert not (tmp_path / target).exists()
