"""The metrics rules in a real Snakemake run: per-pair records, tables, a failed method."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.workflow import PCA_METHOD, PCA_PARAMS, ROOT, run_snakemake, tiny_dataset

TOY = ROOT / "tests" / "plugins" / "toy_method.py"
TABLES = (
    "raw_metrics.csv",
    "scores.csv",
    "summary.csv",
    "benchmark.md",
    "training_curves.csv",
)


@pytest.mark.slow
def test_workflow_scores_methods_and_lists_the_failed_one(tmp_path):
    config = {
        "metrics": {"resolutions": [0.5, 1.0, 1.5], "threads": 1},
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["pca", "unintegrated", "broken"],
        "method_params": PCA_PARAMS,
    }
    registry = {
        "unintegrated": {**PCA_METHOD, "params": {"n_comps": 10}},
        "broken": {"runner": "python", "module": str(TOY), "params": {"fail": True}},
    }
    targets = tuple(f"results/tables/{name}" for name in TABLES)
    proc = run_snakemake(tmp_path, config, targets=targets, registry=registry)
    assert proc.returncode == 0, proc.stderr[-3000:]

    results = tmp_path / "results"
    broken = json.loads((results / "metrics/tiny/broken/rep0.json").read_text())
    assert broken["status"] == "failed" and "failed on purpose" in broken["error"]
    assert "basw" not in broken
    pca = json.loads((results / "metrics/tiny/pca/rep0.json").read_text())
    assert pca["status"] == "ok" and pca["n_cells"] == 300
    assert all(0.0 <= pca[m] <= 1.0 for m in ("basw", "kbet", "ari", "nmi", "casw"))
    assert pca["best_resolution"] in (0.5, 1.0, 1.5)

    raw = pd.read_csv(results / "tables/raw_metrics.csv").set_index("method")
    assert raw.loc["broken", "status"] == "failed" and pd.isna(raw.loc["broken", "nmi"])
    assert raw.loc["pca", "nmi"] == pytest.approx(pca["nmi"])
    scores = pd.read_csv(results / "tables/scores.csv").set_index("method")
    assert sorted(scores["rank"].dropna().astype(int)) in ([1, 2], [1, 1])
    assert pd.isna(scores.loc["broken", "rank"]) and pd.isna(scores.loc["broken", "f1"])
    assert "| broken | failed |" in (results / "tables/benchmark.md").read_text()
    curves = pd.read_csv(results / "tables/training_curves.csv")  # no method with snapshots
    assert list(curves.columns) == [
        "dataset", "method", "repeat", "epoch", "basw", "kbet", "ari", "nmi"
    ]  # fmt: skip
    for rule in ("compute_metrics/tiny/pca/rep0", "compute_metrics/tiny/broken/rep0"):
        assert (results / f"benchmarks/{rule}.tsv").exists()
        assert (results / f"logs/{rule}.log").stat().st_size > 0
    assert not list(results.rglob("*.tmp"))


@pytest.mark.slow
def test_workflow_scores_trajectory_and_controls(tmp_path):
    """A trajectory dataset with its pseudotime_key, PCA and two controls: trajectory
    conservation and label transfer in the records, controls out of the paper's tables and
    in the control-scaled ones."""
    dataset = tiny_dataset(n_cells=300, n_genes=300, n_cell_types=6, trajectory=True, de_prob=0.2)
    dataset["pseudotime_key"] = ["pseudotime_lineage1", "pseudotime_lineage2"]
    config = {
        "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
        "datasets": {"traj": dataset},
        "methods": ["pca", "shuffle_integration", "embed_cell_types"],
        "method_params": PCA_PARAMS,
    }
    targets = (
        "results/tables/raw_metrics.csv",
        "results/tables/benchmark.md",
        "results/tables/control_scaled.md",
        "results/figures/label_transfer.png",
        "results/figures/trajectory_conservation.png",
        "results/figures/control_scaled.png",
        "results/figures/umap_pseudotime/traj.png",
        "results/figures/f1_bars.png",
    )
    proc = run_snakemake(tmp_path, config, targets=targets)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = tmp_path / "results"
    pca = json.loads((results / "metrics/traj/pca/rep0.json").read_text())
    assert 0.5 < pca["trajectory"] <= 1.0 and 0.0 < pca["label_transfer"] <= 1.0
    assert 0.0 < pca["bras"] <= 1.0
    raw = pd.read_csv(results / "tables/raw_metrics.csv")
    assert set(raw["method"]) == {"pca", "shuffle_integration", "embed_cell_types"}
    scores = pd.read_csv(results / "tables/scores.csv")
    assert list(scores["method"]) == ["pca"]  # controls never enter the paper's min-max
    scaled = pd.read_csv(results / "tables/control_scaled.csv").set_index("method")
    assert len(scaled) == 3 and scaled["overall"].between(0, 1).all()
    assert "## traj" in (results / "tables/control_scaled.md").read_text()
    assert "shuffled (control)" not in (results / "tables/benchmark.md").read_text()
    for figure in ("label_transfer", "trajectory_conservation", "umap_pseudotime/traj"):
        assert (results / f"figures/{figure}.pdf").stat().st_size > 0
    # the pseudotime UMAPs are plot_umap's, drawn again (no second UMAP computation)
    assert (results / "figures/umap/traj_coords.npz").stat().st_size > 0
