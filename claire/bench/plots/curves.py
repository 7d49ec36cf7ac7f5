"""Metric-versus-epoch training curves for CLAIRE and its ablations (Fig. 2a, S8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.layout import ordered_unique, require_columns, require_rows
from claire.bench.plots.palette import display_name, is_highlighted, method_palette, order_methods

CURVE_METRICS = (("basw", "bASW"), ("kbet", "kBET"), ("ari", "ARI"), ("nmi", "NMI"))


def plot_training_curves(
    curves: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    metrics: Sequence[tuple[str, str]] = CURVE_METRICS,
) -> Figure:
    """Grid with one row per dataset and one column per metric; one line per method.

    ``curves`` has columns dataset, method, epoch and the metric columns.
    """
    require_columns(
        curves, ["dataset", "method", "epoch", *[m for m, _ in metrics]], "training curves"
    )
    require_rows(curves, "training curves")
    datasets = ordered_unique(curves["dataset"])
    methods = order_methods(curves["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    fig = Figure(figsize=(3.2 * len(metrics) + 1.6, 2.7 * len(datasets)), layout="constrained")
    grid = fig.subplots(len(datasets), len(metrics), squeeze=False, sharex="row")
    for r, dataset in enumerate(datasets):
        subset = curves[curves["dataset"] == dataset]
        for c, (metric, label) in enumerate(metrics):
            ax = grid[r, c]
            for method in methods:
                line = subset[subset["method"] == method].sort_values("epoch")
                if line.empty:
                    continue
                highlight = is_highlighted(method)
                ax.plot(
                    line["epoch"],
                    line[metric],
                    marker="o",
                    markersize=3,
                    lw=2.2 if highlight else 1.4,
                    color=palette[method],
                    label=display_name(method),
                    zorder=3 if highlight else 2,
                )
            ax.set_ylim(-0.02, 1.02)
            ax.grid(color="0.92")
            if r == 0:
                ax.set_title(label)
            if c == 0:
                ax.set_ylabel(f"{dataset}\nscore")
            if r == len(datasets) - 1:
                ax.set_xlabel("epoch")
    handles, labels = grid[0, 0].get_legend_handles_labels()
    for ax in grid.ravel():
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="method")
    return fig
