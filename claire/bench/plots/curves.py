"""Metric-versus-epoch training curves of every method that keeps embedding snapshots
(CLAIRE and its ablations, and any other method trained over epochs; Fig. 2a, S8).

One line per method: the mean over its repeats at each epoch, with a band of ± sd when
there are several repeats. CLAIRE is drawn emphasised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.layout import (
    add_label_note,
    legend_entries,
    ordered_unique,
    require_columns,
    require_rows,
)
from claire.bench.plots.palette import is_highlighted, method_labels, method_palette, order_methods
from claire.bench.registry.metrics import metric_label, metric_registry


def curve_panels() -> tuple[tuple[str, str], ...]:
    """(name, label) of the registry's curve metrics, read at call time."""
    return tuple((m, metric_label(m)) for m in metric_registry().curve)


def mean_curves(curves: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean and sd (``<m>_mean``, ``<m>_sd``; sd NaN for one repeat) of each metric per
    (dataset, method, epoch) over the repeats, sorted by epoch."""
    grouped = curves.groupby(["dataset", "method", "epoch"], sort=True)[list(metrics)]
    means, sds = grouped.mean(), grouped.std(ddof=1)
    table = pd.concat([means.add_suffix("_mean"), sds.add_suffix("_sd")], axis=1)
    return table.reset_index()


def plot_training_curves(
    curves: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    metrics: Sequence[tuple[str, str]] | None = None,
    labels: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
) -> Figure:
    """Grid with one row per dataset and one column per metric; one line per method.

    ``curves`` (training_curves.csv) has columns dataset, method, epoch, the metric columns
    and optionally repeat; repeats are averaged. ``methods`` orders the legend (default:
    the table's order, CLAIRE first).
    """
    metrics = curve_panels() if metrics is None else metrics
    names = [m for m, _ in metrics]
    require_columns(curves, ["dataset", "method", "epoch", *names], "training curves")
    require_rows(curves, "training curves")
    datasets = ordered_unique(curves["dataset"])
    present = set(curves["method"])
    methods = [m for m in order_methods(methods or curves["method"]) if m in present]
    palette = dict(palette) if palette is not None else method_palette(methods)
    shown = method_labels(methods, labels)
    table = mean_curves(curves, names)
    fig = Figure(figsize=(3.2 * len(metrics) + 1.6, 2.7 * len(datasets)), layout="constrained")
    grid = fig.subplots(len(datasets), len(metrics), squeeze=False, sharex="row")
    for r, dataset in enumerate(datasets):
        subset = table[table["dataset"] == dataset]
        for c, (metric, label) in enumerate(metrics):
            ax = grid[r, c]
            for method in methods:
                line = subset[subset["method"] == method]
                if line.empty:
                    continue
                _draw_curve(ax, line, metric, palette[method], shown[method], method)
            ax.set_ylim(-0.02, 1.02)
            ax.grid(color="0.92")
            if r == 0:
                ax.set_title(label)
            if c == 0:
                ax.set_ylabel(f"{dataset}\nscore")
            if r == len(datasets) - 1:
                ax.set_xlabel("epoch")
    handles, entries = legend_entries(grid.ravel())
    fig.legend(handles, entries, loc="outside right upper", frameon=False, title="method")
    if "repeat" in curves.columns and curves["repeat"].nunique() > 1:
        fig.suptitle("Mean over repeats (band: ± sd)", fontsize=9)
    add_label_note(fig, shown.values())
    return fig


def _draw_curve(ax, line: pd.DataFrame, metric: str, colour: str, label: str, method: str):
    highlight = is_highlighted(method)
    epochs = line["epoch"].to_numpy(float)
    mean = line[f"{metric}_mean"].to_numpy(float)
    sd = line[f"{metric}_sd"].to_numpy(float)
    ax.plot(
        epochs,
        mean,
        marker="o",
        markersize=3,
        lw=2.2 if highlight else 1.4,
        color=colour,
        label=label,
        zorder=3 if highlight else 2,
    )
    if np.isfinite(sd).any():
        ax.fill_between(epochs, mean - sd, mean + sd, color=colour, alpha=0.15, lw=0, zorder=1)
