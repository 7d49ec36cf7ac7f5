"""Time and peak memory against the number of cells on log-log axes (paper Tables S2/S3),
one line per method with its fitted exponent in the legend (1.0 = linear)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from claire.bench.contract import STATUS_OK
from claire.bench.plots.layout import add_label_note, require_columns, require_rows
from claire.bench.plots.palette import is_highlighted, method_labels, method_palette, order_methods
from claire.bench.tables.scaling import exponents

PANELS = (("seconds", "wall time (s)"), ("max_rss_mb", "peak memory (MB)"))


def plot_scaling(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Two panels (time, peak RSS); lines through the mean over repeats of finished runs;
    a run that broke its budget is drawn as an x at its size."""
    require_columns(table, ["method", "cells", "status", *(c for c, _ in PANELS)], "scaling")
    require_rows(table, "scaling")
    methods = order_methods(table["method"])
    names = method_labels(methods, labels)
    palette = method_palette(methods)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, len(PANELS))
    for ax, (column, title) in zip(axes, PANELS, strict=True):
        slopes = exponents(table, column)
        for method in methods:
            runs = table[table["method"] == method]
            ok = runs[runs["status"] == STATUS_OK].groupby("cells")[column].mean()
            bold = is_highlighted(method)
            if not ok.empty:
                slope = slopes.get(method, np.nan)
                suffix = f" (slope {slope:.2f})" if np.isfinite(slope) else ""
                ax.plot(
                    ok.index,
                    ok.to_numpy(),
                    marker="o",
                    lw=2.2 if bold else 1.4,
                    color=palette[method],
                    label=f"{names[method]}{suffix}",
                    zorder=3 if bold else 2,
                )
            over = runs[runs["status"] == "over_budget"]
            if not over.empty and column == "seconds":
                ax.scatter(over["cells"], [ax.get_ylim()[1]] * len(over), marker="x",
                           color=palette[method], zorder=4)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cells")
        ax.set_title(title)
        ax.grid(color="0.92", which="both")
        ax.legend(fontsize="small", frameon=False)
    add_label_note(fig, names.values())
    return fig
