"""Plot functions of the figure registry (config/figures.yaml): each takes the tables it
names and the methods and their labels, and returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.curves import plot_training_curves
from claire.bench.plots.downstream import method_means, plot_method_heatmap, plot_trajectory_bars
from claire.bench.plots.layout import message_figure
from claire.bench.plots.palette import method_palette
from claire.bench.plots.refinement import plot_seed_refinement
from claire.bench.plots.runtime import plot_runtime_memory
from claire.bench.plots.scaling import plot_scaling
from claire.bench.plots.scores import plot_batch_vs_bio, plot_f1_bars
from claire.bench.plots.sensitivity import plot_sensitivity
from claire.bench.registry.callables import load_callable

Tables = Mapping[str, pd.DataFrame]


def f1_bars(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """F1 per dataset and method (paper Fig. 3a)."""
    return plot_f1_bars(tables["scores"], method_palette(methods), methods=methods, labels=labels)


def batch_vs_bio(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """S_batch against S_bio (paper Fig. 3b)."""
    return plot_batch_vs_bio(
        tables["scores"], method_palette(methods), methods=methods, labels=labels
    )


def runtime_memory(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Wall time and peak memory of the integration step (S2/S3)."""
    return plot_runtime_memory(
        tables["runtime"], method_palette(methods), labels=labels, methods=methods
    )


def training_curves(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Metrics of the embedding snapshots against the epoch (paper Fig. 2a, S8)."""
    curves = tables["training_curves"]
    if curves.empty:
        return message_figure("Training curves", "no method kept embedding snapshots in this run")
    return plot_training_curves(curves, method_palette(methods), labels=labels, methods=methods)


def seed_refinement(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """True-seed share before and after refinement (paper Fig. 4a); every CLAIRE run."""
    return plot_seed_refinement(tables["seed_refinement"])


def sensitivity(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Metrics per grid value of alpha, k and eta (paper Fig. 4b)."""
    return plot_sensitivity(tables["sensitivity"])


def scaling(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Time and memory against the number of cells (every method of the scaling block)."""
    return plot_scaling(tables["scaling"], labels=labels)


def label_transfer(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """k-NN label-transfer accuracy, heat map method x dataset (paper Note S2)."""
    return plot_method_heatmap(
        method_means(tables["raw_metrics"], "label_transfer"),
        "k-NN label transfer accuracy (leave one batch out, k = 10)",
        "accuracy",
        labels=labels,
        methods=methods,
    )


def trajectory_conservation(
    tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]
) -> Figure:
    """Trajectory conservation bars on the datasets with a true pseudotime (paper Note S2)."""
    return plot_trajectory_bars(tables["raw_metrics"], labels=labels, methods=methods)


def control_scaled(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Control-scaled overall score, heat map method x dataset (openproblems' rule)."""
    summary = tables["control_scaled_summary"]
    overall = summary.pivot_table(index="method", columns="dataset", values="overall")
    return plot_method_heatmap(
        overall,
        "Control-scaled overall score (metrics scaled between the controls)",
        "overall score",
        labels=labels,
        methods=methods,
    )


def plot_function(reference: str) -> Callable[..., Figure]:
    """The callable of a registry entry's ``function``: ``"module:name"`` or
    ``"path/to/file.py:name"`` (a plug-in file outside the package)."""
    return load_callable(reference, "claire_figure")


def draw(
    reference: str,
    table_paths: Mapping[str, str | Path],
    *,
    methods: Sequence[str],
    labels: Mapping[str, str],
) -> Figure:
    """Read the named tables and call the registered plot function on them."""
    tables = {name: pd.read_csv(path) for name, path in table_paths.items()}
    return plot_function(reference)(tables, methods=list(methods), labels=dict(labels))
