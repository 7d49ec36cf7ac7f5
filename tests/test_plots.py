"""Benchmark figures on small fixed tables: files written, panels and series as expected."""

from __future__ import annotations

import math

import anndata as ad
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer

from claire.bench.experiments.sensitivity import run_name
from claire.bench.plots import (
    compute_umap,
    method_palette,
    plot_batch_vs_bio,
    plot_f1_bars,
    plot_runtime_memory,
    plot_seed_refinement,
    plot_sensitivity,
    plot_training_curves,
    plot_umap_grid,
    save_figure,
)
from claire.bench.plots.palette import HIGHLIGHT_COLOUR
from claire.bench.subsample import subsample_indices
from claire.bench.tables.collect import (
    load_embeddings,
    load_snapshots,
    runtime_table,
    seed_refinement_table,
)
from claire.bench.tables.render import table_html
from claire.bench.tables.sensitivity import parse_value, sensitivity_table

DATASETS = ["sim_a", "sim_b"]
METHODS = ["pca", "harmony", "claire"]


@pytest.fixture
def scores() -> pd.DataFrame:
    rows = []
    for d, dataset in enumerate(DATASETS):
        for m, method in enumerate(METHODS):
            failed = dataset == "sim_b" and method == "harmony"
            s_batch, s_bio = (math.nan, math.nan) if failed else (0.2 + 0.3 * m, 0.9 - 0.2 * d)
            f1 = math.nan if failed else 2 * s_batch * s_bio / (s_batch + s_bio)
            status = "failed" if failed else "ok"
            rows.append((dataset, method, status, s_batch, s_bio, f1))
    return pd.DataFrame(rows, columns=["dataset", "method", "status", "s_batch", "s_bio", "f1"])


def _bar_containers(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _written(paths) -> None:
    png, pdf = paths
    image = mpimg.imread(png)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.01  # not a blank canvas
    assert pdf.read_bytes().startswith(b"%PDF")


def test_f1_bars_one_series_per_method_claire_first_and_outlined(scores, tmp_path):
    fig = plot_f1_bars(scores)
    (ax,) = fig.axes
    bars = _bar_containers(ax)
    assert len(bars) == len(METHODS)
    assert all(len(container) == len(DATASETS) for container in bars)
    assert bars[0].get_label() == "CLAIRE"  # highlighted method leads
    assert bars[0].patches[0].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    assert [t.get_text() for t in ax.texts] == ["x"]  # the one failed run
    _written(save_figure(fig, tmp_path / "f1.png", tmp_path / "f1.pdf"))


def test_batch_vs_bio_one_panel_per_dataset_one_point_per_scored_method(scores, tmp_path):
    fig = plot_batch_vs_bio(scores)
    assert len(fig.axes) == len(DATASETS)
    points = [sum(isinstance(c, PathCollection) for c in ax.collections) for ax in fig.axes]
    assert points == [3, 2]  # harmony failed on sim_b
    _written(save_figure(fig, tmp_path / "s.png", tmp_path / "s.pdf"))


def test_palette_is_consistent_and_reserves_claire_colour():
    palette = method_palette(["pca", "claire", "scvi"])
    assert palette["claire"] == HIGHLIGHT_COLOUR
    assert len(set(palette.values())) == 3
    assert method_palette(["claire", "pca", "scvi"]) == palette
    assert HIGHLIGHT_COLOUR not in method_palette(["pca", "scvi"]).values()


def test_training_curves_grid_rows_datasets_columns_metrics(tmp_path):
    rows = [
        (dataset, method, epoch, 0.1 * epoch, 0.5, 0.2 + 0.1 * epoch, 0.3)
        for dataset in DATASETS
        for method in ("claire", "claire_var1", "claire_var2")
        for epoch in (0, 2, 4)
    ]
    curves = pd.DataFrame(
        rows, columns=["dataset", "method", "epoch", "basw", "kbet", "ari", "nmi"]
    )
    fig = plot_training_curves(curves)
    assert len(fig.axes) == len(DATASETS) * 4
    assert all(len(ax.lines) == 3 for ax in fig.axes)
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [3, 3, 3]
    _written(save_figure(fig, tmp_path / "c.png", tmp_path / "c.pdf"))


def test_seed_refinement_bars_skip_runs_without_refinement(tmp_path):
    table = pd.DataFrame(
        {
            "dataset": ["sim_a", "sim_b", "sim_a"],
            "method": ["claire", "claire", "claire_var2"],
            "refine_epoch": [2, 2, math.nan],
            "n_seeds_before": [500, 800, 500],
            "n_seeds_after": [400, 600, 500],
            "true_frac_before": [0.8, 0.7, 0.8],
            "true_frac_after": [0.95, 0.9, 0.8],
        }
    )
    fig = plot_seed_refinement(table)
    (ax,) = fig.axes
    bars = _bar_containers(ax)
    assert [c.get_label() for c in bars] == ["before refinement", "after refinement"]
    assert [len(c) for c in bars] == [2, 2]
    assert bars[1].datavalues.tolist() == [0.95, 0.9]
    _written(save_figure(fig, tmp_path / "r.png", tmp_path / "r.pdf"))


def test_seed_refinement_without_labels_says_so():
    table = pd.DataFrame(
        [("sim_a", "claire", 2, 10, 8, math.nan, math.nan)],
        columns=[
            "dataset",
            "method",
            "refine_epoch",
            "n_seeds_before",
            "n_seeds_after",
            "true_frac_before",
            "true_frac_after",
        ],
    )
    (ax,) = plot_seed_refinement(table).axes
    assert "no labelled refinement" in ax.texts[0].get_text()


def test_runtime_memory_two_panels_one_line_per_method(tmp_path):
    runtime = pd.DataFrame(
        [
            (dataset, method, n, 10.0 * (m + 1) * n / 1000, 200.0 + n / 10)
            for dataset, n in (("sim_a", 1000), ("sim_b", 5000))
            for m, method in enumerate(METHODS)
        ],
        columns=["dataset", "method", "n_cells", "seconds", "max_rss_mb"],
    )
    fig = plot_runtime_memory(runtime)
    assert len(fig.axes) == 2
    assert all(len(ax.lines) == len(METHODS) for ax in fig.axes)
    assert fig.axes[0].get_xscale() == "log"
    _written(save_figure(fig, tmp_path / "t.png", tmp_path / "t.pdf"))


def test_sensitivity_grid_panels_per_dataset_and_parameter(tmp_path):
    points = [("alpha", "0.1"), ("alpha", "0.5"), ("knn", "5"), ("knn", "10"), ("knn", "20")]
    points.append(("eta", "0.5"))
    records = [
        {
            "dataset": "sim_a",
            "method": run_name("claire", p, parse_value(p, v)),
            "repeat": 0,
            "status": "ok",
            "error": "",
            "basw": 0.5,
            "kbet": 0.4,
            "ari": 0.7,
            "nmi": 0.8,
        }
        for p, v in points
    ]
    table = sensitivity_table(records)
    fig = plot_sensitivity(table)
    assert len(fig.axes) == 3  # one dataset x three parameters
    assert [len(ax.lines) for ax in fig.axes] == [4, 4, 4]
    assert len(fig.axes[1].lines[0].get_xdata()) == 3  # three k values
    _written(save_figure(fig, tmp_path / "h.png", tmp_path / "h.pdf"))
    with pytest.raises(ValueError, match="unknown sensitivity parameter"):
        parse_value("lr", "0.1")


def test_umap_grid_columns_methods_rows_colourings_failed_panel(tmp_path):
    rng = np.random.default_rng(0)
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical(rng.choice(["b1", "b2"], 50)),
            "cell_type": pd.Categorical(rng.choice(["t1", "t2", "t3"], 50)),
        }
    )
    coords = {"PCA": rng.normal(size=(50, 2)), "scVI": None, "CLAIRE": rng.normal(size=(50, 2))}
    fig = plot_umap_grid(coords, obs, title="sim_a")
    assert len(fig.axes) == 6
    scatter_counts = [len(ax.collections) for ax in fig.axes]
    assert scatter_counts == [1, 0, 1, 1, 0, 1]
    assert fig.axes[1].texts[0].get_text() == "failed"
    _written(save_figure(fig, tmp_path / "u.png", tmp_path / "u.pdf"))
    with pytest.raises(ValueError, match="expected"):
        plot_umap_grid({"PCA": rng.normal(size=(49, 2))}, obs)


def test_umap_coords_round_trip(tmp_path):
    """plot_umap's coordinates file gives plot_umap_pseudotime the same points, methods (in
    order), failed methods and cells."""
    from claire.bench.plots.umap import load_umap_coords, save_umap_coords

    rng = np.random.default_rng(0)
    coords = {"pca": rng.normal(size=(5, 2)).astype(np.float32), "scvi": None, "claire": None}
    coords["claire"] = rng.normal(size=(5, 2)).astype(np.float32)
    cells = pd.Index([f"c{i}" for i in range(5)])
    save_umap_coords(tmp_path / "coords.npz", coords, cells)
    loaded, loaded_cells = load_umap_coords(tmp_path / "coords.npz")
    assert list(loaded) == ["pca", "scvi", "claire"] and loaded["scvi"] is None
    np.testing.assert_array_equal(loaded["pca"], coords["pca"])
    np.testing.assert_array_equal(loaded["claire"], coords["claire"])
    assert loaded_cells.equals(cells)


def test_compute_umap_is_seeded_and_checks_input():
    rng = np.random.default_rng(1)
    embedding = np.vstack([rng.normal(0, 1, (40, 8)), rng.normal(6, 1, (40, 8))])
    first, again = compute_umap(embedding, seed=3), compute_umap(embedding, seed=3)
    assert first.shape == (80, 2) and np.array_equal(first, again)
    with pytest.raises(ValueError, match="NaN"):
        compute_umap(np.full((10, 3), np.nan), seed=0)
    idx = subsample_indices(100, 30, seed=2)
    assert len(idx) == 30 and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, subsample_indices(100, 30, seed=2))


def _result(n: int, dim: int, status: str = "ok", refinement: dict | None = None) -> ad.AnnData:
    rng = np.random.default_rng(n + dim)
    obs = pd.DataFrame(
        {"batch": pd.Categorical(["b1", "b2"] * (n // 2)), "cell_type": pd.Categorical(["t"] * n)},
        index=[f"c{i}" for i in range(n)],
    )
    result = ad.AnnData(obs=obs, obsm={"X_emb": rng.normal(size=(n, dim)).astype(np.float32)})
    result.uns["integration"] = {"method": "m", "status": status, "error": ""}
    if refinement is not None:
        result.obsm["X_emb_epoch_0"] = rng.normal(size=(n, dim)).astype(np.float32)
        result.uns["claire"] = {"refinement": refinement}
    return result


def test_seed_refinement_table_and_embedding_loading(tmp_path):
    refined = {
        "epoch": 2,
        "n_seeds_before": 100,
        "n_seeds_after": 80,
        "true_frac_before": 0.7,
        "true_frac_after": 0.9,
    }
    unrefined = {**refined, "epoch": None, "n_seeds_after": 100, "true_frac_after": 0.7}
    paths = {}
    for method, result in {
        "claire": _result(20, 4, refinement=refined),
        "claire_var2": _result(20, 4, refinement=unrefined),
        "broken": _result(20, 0, status="failed"),
    }.items():
        paths[method] = tmp_path / "sim_a" / method / "rep0.h5ad"
        paths[method].parent.mkdir(parents=True)
        result.write_h5ad(paths[method])
    table = seed_refinement_table(paths.values())
    assert table["method"].tolist() == ["claire", "claire_var2"]
    assert table["n_seeds_after"].tolist() == [80, 100]
    assert math.isnan(table.loc[1, "refine_epoch"])

    embeddings, obs = load_embeddings(paths, max_cells=10, seed=0)
    assert len(obs) == 10 and embeddings["broken"] is None
    assert embeddings["claire"].shape == (10, 4)
    snapshots, _ = load_snapshots(paths["claire"], max_cells=None, seed=0)
    assert list(snapshots) == ["epoch 0", "final"]


def test_runtime_table_reads_benchmarks_and_joins_cell_counts(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    paths, results = [], []
    for method, seconds, status in (("pca", 1.5, "ok"), ("claire", 12.0, "failed")):
        path = tmp_path / "benchmarks" / "sim_a" / method / "rep0.tsv"
        path.parent.mkdir(parents=True)
        path.write_text(header + f"{seconds}\t0:00:01\t250.5\t900\t200\t210\t0\t1\t50\t{seconds}\n")
        paths.append(path)
        results.append(tmp_path / "integration" / "sim_a" / method / "rep0.h5ad")
        results[-1].parent.mkdir(parents=True)
        result = _result(300, 0 if status == "failed" else 4, status=status)
        result.uns["integration"]["params"] = '{"epochs": 30}'
        result.uns["claire"] = {"schedule": {"epochs": 40}, "params": {"min_steps": 600}}
        result.write_h5ad(results[-1])
    table = runtime_table(paths, results)
    assert list(table.columns)[-2:] == ["cpu_time", "schedule"]
    assert table["schedule"].tolist() == [
        "n/a (no training)",
        "30 of 120 epochs, raised to 40 by the 600-step floor",
    ]
    assert table[["seconds", "max_rss_mb"]].to_numpy().tolist() == [[1.5, 250.5], [12.0, 250.5]]
    assert table["status"].tolist() == ["ok", "failed"]
    assert table["n_cells"].tolist() == [300, 300] and table["repeat"].tolist() == [0, 0]
    bad = tmp_path / "benchmarks" / "sim_a" / "bad" / "rep0.tsv"
    bad.parent.mkdir()
    bad.write_text("x\ty\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark"):
        runtime_table([bad], results)


def test_save_figure_rejects_unknown_format(scores, tmp_path):
    with pytest.raises(ValueError, match="unsupported figure format"):
        save_figure(plot_f1_bars(scores), tmp_path / "f1.jpg")
    assert not list(tmp_path.iterdir())


def test_table_html_rounds_marks_missing_and_escapes():
    table = pd.DataFrame(
        {"method": ["claire", "<b>x</b>"], "f1": [0.123456, math.nan], "rank": [1, 2]}
    )
    page = table_html(table, title="scores", digits=3)
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") == 3  # header + 2 rows
    assert "<td>0.123</td>" in page and "<td>n/a</td>" in page and "<td>1</td>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "no rows" in table_html(table.iloc[:0], title="empty")
    with pytest.raises(ValueError, match="digits"):
        table_html(table, title="t", digits=-1)


def test_downstream_figures():
    from claire.bench.plots.downstream import (
        method_means,
        plot_method_heatmap,
        plot_pseudotime_umaps,
        plot_trajectory_bars,
    )

    raw = pd.DataFrame(
        {
            "dataset": ["d1", "d1", "d2", "d2"],
            "method": ["a", "b", "a", "b"],
            "repeat": 0,
            "status": ["ok", "ok", "ok", "failed"],
            "label_transfer": [0.9, 0.5, 0.8, np.nan],
            "trajectory": [0.95, 0.6, np.nan, np.nan],
        }
    )
    table = method_means(raw, "label_transfer")
    assert table.loc["a", "d2"] == 0.8 and np.isnan(table.loc["b", "d2"])
    fig = plot_method_heatmap(table, "t", "accuracy", labels={"a": "A†"})
    assert len(fig.axes) == 2 and any("uses cell-type" in t.get_text() for t in fig.texts)
    assert len(plot_trajectory_bars(raw).axes) == 1  # only d1 has a pseudotime
    assert (
        "pseudotime"
        in plot_trajectory_bars(raw.assign(trajectory=np.nan)).axes[0].texts[0].get_text()
    )
    rng = np.random.default_rng(0)
    coords = {"A": rng.normal(size=(50, 2)), "B": None}
    fig = plot_pseudotime_umaps(coords, rng.random(50), "umap")
    assert fig.axes[1].texts[0].get_text() == "failed"
