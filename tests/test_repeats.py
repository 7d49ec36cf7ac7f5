"""Repeats through the real workflow: one job and one seed per repeat, per-repeat rows in
the tables, mean and standard deviation in the summary; deterministic methods run once."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers.workflow import integration_path, run_snakemake, tiny_dataset

pytestmark = pytest.mark.slow


def test_two_repeats_give_mean_and_sd(tmp_path):
    config = {
        "seed": 10,
        "repeats": 2,
        "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300, seed=4)},
        "methods": ["pca", "claire"],
        "method_params": {
            "pca": {"n_comps": 10},
            "claire": {"preset": "paper", "epochs": 3, "refine_epoch": 1, "batch_size": 64},
        },
    }
    targets = ("results/tables/summary.csv", "results/tables/runtime.csv")
    done = run_snakemake(tmp_path, config, targets=targets)
    assert done.returncode == 0, done.stderr[-3000:]

    first, second = (ad.read_h5ad(tmp_path / integration_path("tiny", "claire", r)) for r in (0, 1))
    assert [first.uns["integration"]["seed"], second.uns["integration"]["seed"]] == [10, 11]
    assert not np.allclose(first.obsm["X_emb"], second.obsm["X_emb"])  # seeds differ
    assert not (tmp_path / integration_path("tiny", "pca", 1)).exists()  # deterministic

    raw = pd.read_csv(tmp_path / "results/tables/raw_metrics.csv")
    assert sorted(map(tuple, raw[["method", "repeat"]].values)) == [
        ("claire", 0),
        ("claire", 1),
        ("pca", 0),
    ]
    summary = pd.read_csv(tmp_path / "results/tables/summary.csv").set_index("method")
    for column in ("f1_mean", "f1_sd", "kbet_mean", "kbet_sd", "nmi_mean", "nmi_sd"):
        assert column in summary.columns
    assert summary.loc["claire", "n_repeats"] == 2 and summary.loc["pca", "n_repeats"] == 1
    kbet = raw[raw["method"] == "claire"]["kbet"]
    assert summary.loc["claire", "kbet_mean"] == pytest.approx(kbet.mean())
    assert summary.loc["claire", "kbet_sd"] == pytest.approx(kbet.std(ddof=1))
    assert pd.isna(summary.loc["pca", "kbet_sd"])
    record = json.loads((tmp_path / integration_path("tiny", "claire", 1, "metrics")).read_text())
    assert record["repeat"] == 1
    runtime = pd.read_csv(tmp_path / "results/tables/runtime.csv")
    assert len(runtime) == 3 and set(runtime["repeat"]) == {0, 1}
    schedules = dict(zip(runtime["method"], runtime["schedule"], strict=False))
    assert schedules == {"pca": "n/a (no training)", "claire": "3 of 120 epochs"}
