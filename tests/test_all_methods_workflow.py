"""Every registered method through the real workflow on one tiny dataset, with very short
training: one integrate job each, metrics, training curves for the methods that keep
snapshots, the summary table with the label-informed methods flagged, and a UMAP per epoch.
This is the default run's wiring (config/config.yaml lists the same methods) at toy size."""

from __future__ import annotations

import shutil

import anndata as ad
import pandas as pd
import pytest
import yaml
from helpers.workflow import ROOT, integration_path, run_snakemake, tiny_dataset

from claire.bench.methods.rscript import r_package_missing
from claire.bench.registry.methods import registry

pytestmark = pytest.mark.slow

SHORT = {
    "pca": {"n_comps": 10},
    "claire": {
        "preset": "paper",
        "epochs": 2,
        "refine_epoch": 1,
        "snapshot_epochs": [0, 2],
        "batch_size": 64,
    },
    "scvi": {"max_epochs": 2},
    "insct": {"epochs": 2, "snapshot_epochs": [0, 2]},
    "mat2": {"epochs": 2, "snapshot_epochs": [0, 2]},
    "smile": {"epochs": 2, "batch_size": 128, "snapshot_epochs": [0, 2]},
    "clear": {"epochs": 2, "batch_size": 128, "snapshot_epochs": [0, 2]},
    "desc": {"pretrain_epochs": 2, "end_to_end_stage_epochs": 1, "max_iter": 2},
    "scdcc": {"pretrain_epochs": 2, "maxiter": 2},
    "ismnn": {"k_filter": 30, "k_score": 30, "min_cells": 0, "iterations": 2},
    "seurat": {"dims": 10, "npcs": 10, "k_filter": 50, "k_weight": 50},
}
DEFAULT_METHODS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["methods"]


def test_every_default_method_runs_through_the_workflow(tmp_path):
    methods = list(DEFAULT_METHODS)
    if r_package_missing("Seurat") is not None or shutil.which("Rscript") is None:
        methods = [m for m in methods if m not in ("seurat", "ismnn", "ismnn_free")]
    config = {
        "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
        "report": {"umap_max_cells": 200, "umap_epoch_methods": ["insct"]},
        "datasets": {"tiny": tiny_dataset(n_cells=400, n_genes=300, seed=3, n_cell_types=3)},
        "methods": methods,
        "method_params": SHORT,
    }
    targets = (
        "results/tables/summary.csv",
        "results/tables/training_curves.csv",
        "results/figures/umap_epochs/tiny/insct.png",
    )
    done = run_snakemake(tmp_path, config, targets=targets, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]
    for method in methods:
        result = ad.read_h5ad(tmp_path / integration_path("tiny", method))
        info = result.uns["integration"]
        assert info["status"] == "ok", f"{method}: {info['error']}"
        assert result.obsm["X_emb"].shape[0] == 400
    # controls are scored (raw metrics) but never enter the paper's min-max tables
    controls = {m for m in methods if registry()[m].family == "control"}
    assert controls
    raw = pd.read_csv(tmp_path / "results/tables/raw_metrics.csv")
    assert set(raw["method"]) == set(methods)
    summary = pd.read_csv(tmp_path / "results/tables/summary.csv").set_index("method")
    assert set(summary.index) == set(methods) - controls
    flagged = set(summary.index[summary["uses_labels"].astype(bool)])
    assert flagged == {"ismnn", "scdcc_li"} & set(methods)
    assert summary.loc[list(flagged), "label"].str.endswith("†").all()
    curves = pd.read_csv(tmp_path / "results/tables/training_curves.csv")
    with_curves = {"claire", "claire_var1", "claire_var2", "insct", "mat2", "smile", "clear"}
    assert with_curves <= set(curves["method"])
    assert set(curves[curves["method"] == "insct"]["epoch"]) == {0, 2}
    assert (tmp_path / "results/figures/umap_epochs/tiny/insct.png").stat().st_size > 0
