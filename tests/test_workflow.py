"""Real Snakemake runs of small configurations: outputs, logs, bad input, bad config."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import yaml
from helpers.workflow import (
    CELLBENCH,
    PCA_PARAMS,
    ROOT,
    integration_path,
    run_snakemake,
    tiny_dataset,
)
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def test_tiny_workflow_runs_from_data_to_embeddings(tmp_path):
    datasets = {"tiny": tiny_dataset()}
    if CELLBENCH.exists():
        datasets["cellbench"] = {
            "source": {"type": "h5ad", "path": str(CELLBENCH)},
            "batch_key": "batch",
            "label_key": "celltype",
            "n_hvg": 500,
        }
    datasets["absent"] = {
        "source": {"type": "h5ad", "path": str(tmp_path / "nope.h5ad"), "optional": True},
        "batch_key": "b",
        "label_key": "l",
    }
    config = {"datasets": datasets, "methods": ["pca"], "method_params": PCA_PARAMS}
    targets = [integration_path(name, "pca") for name in datasets if name != "absent"]
    proc = run_snakemake(tmp_path, config, targets=tuple(targets))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Dataset 'absent' skipped" in proc.stderr

    for name in (n for n in datasets if n != "absent"):
        pre = ad.read_h5ad(tmp_path / f"results/data/{name}/preprocessed.h5ad")
        assert "counts" in pre.layers and pre.n_vars <= 500
        result = ad.read_h5ad(tmp_path / integration_path(name, "pca"))
        assert result.obsm["X_emb"].shape == (pre.n_obs, 20)
        assert np.isfinite(result.obsm["X_emb"]).all()
        assert result.uns["integration"]["status"] == "ok"
        assert list(result.obs_names) == list(pre.obs_names)
        for log in ("raw_data", "preprocess"):
            assert (tmp_path / f"results/logs/{log}/{name}.log").stat().st_size > 0
        bench = tmp_path / integration_path(name, "pca", kind="benchmark")
        assert bench.read_text().startswith("s\t")
    assert not (tmp_path / "results/data/absent").exists()
    # nothing temporary left behind
    assert not list((tmp_path / "results").rglob("*.tmp"))


def test_bad_input_fails_with_clear_error_and_no_partial_output(tmp_path):
    bad = ad.read_h5ad(CELLBENCH) if CELLBENCH.exists() else None
    if bad is None:
        pytest.skip("real data missing")
    bad.obs["batch"] = "only_one_plate"
    path = tmp_path / "one_batch.h5ad"
    bad.write_h5ad(path)
    config = {
        "datasets": {
            "onebatch": {
                "source": {"type": "h5ad", "path": str(path)},
                "batch_key": "batch",
                "label_key": "celltype",
            }
        },
        "methods": ["pca"],
    }
    proc = run_snakemake(tmp_path, config, targets=("results/data/onebatch/raw.h5ad",))
    assert proc.returncode != 0
    # found while the workflow is parsed (obs only), before any job: nothing written
    assert (
        "datasets.onebatch.batch_key: obs['batch'] of "
        f"{path} has only 1 batch value; integration needs at least two batches"
    ) in proc.stderr
    assert not (tmp_path / "results").exists()


def test_schema_rejects_bad_config_naming_the_key(tmp_path):
    config = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["pca"],
        "on_method_error": "ignore",
    }
    with pytest.raises(WorkflowError, match="on_method_error"):
        validate(dict(config), str(SCHEMA))
    proc = run_snakemake(tmp_path, config, extra=("-n",))
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    line = "on_method_error: 'ignore' is not one of ['record', 'raise'] (schema rule: enum)"
    assert f"{tmp_path / 'config.yaml'}: {line}" in output
    assert "properties:" not in output  # the key and the rule, not the whole schema
    assert not (tmp_path / "results").exists()  # failed before any job ran


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["datasets"]["tiny"].pop("batch_key"), "batch_key"),
        (lambda c: c["datasets"]["tiny"]["source"].__setitem__("n_batches", 1), "n_batches"),
        (lambda c: c["datasets"]["tiny"]["source"].__setitem__("type", "ftp"), "type"),
        (lambda c: c.__setitem__("methods", []), "methods"),
        (lambda c: c.__setitem__("repeats", 0), "repeats"),
        (lambda c: c.__setitem__("datasets", {}), "datasets"),
    ],
)
def test_schema_rejections(mutate, key):
    config = {"datasets": {"tiny": tiny_dataset()}, "methods": ["pca"]}
    mutate(config)
    with pytest.raises(WorkflowError) as err:
        validate(config, str(SCHEMA))
    assert key in str(err.value)


def test_default_and_paper_configs_are_valid():
    for name in ("config.yaml", "paper.yaml"):
        path = ROOT / "config" / name
        if not path.exists():
            continue
        validate(yaml.safe_load(path.read_text()), str(SCHEMA))


def test_default_config_skips_missing_real_data(tmp_path):
    """The default config lists data from ../shared/data as optional."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    real = [n for n, d in config["datasets"].items() if d["source"]["type"] == "h5ad"]
    assert real and all(config["datasets"][n]["source"].get("optional") for n in real)
    sim = [d for d in config["datasets"].values() if d["source"]["type"] == "simulated"]
    assert any(d["source"]["n_batches"] == 2 for d in sim)
    assert any(
        d["source"]["n_batches"] >= 5
        and d["source"].get("partial_overlap")
        and d["source"]["n_cells"] >= 4_000  # 10,000 before the 20-minute budget (issue 15)
        for d in sim
    )
    assert Path(ROOT / "config" / "config.yaml").exists()
