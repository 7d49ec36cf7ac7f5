"""Runtime and peak memory per method against dataset size (supplementary S2/S3).

runtime.csv has one row per run (dataset, method, repeat); each line goes through the
mean over the repeats of a method on a dataset, and a method run several times also shows
one small point per repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from claire.bench.plots.layout import (
    add_label_note,
    legend_entries,
    require_columns,
    require_rows,
)
from claire.bench.plots.palette import is_highlighted, method_labels, method_palette, order_methods

PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:g}")
RESOURCE_PANELS = (("seconds", "wall time (s)"), ("max_rss_mb", "peak memory, max RSS (MB)"))


def plot_runtime_memory(
    runtime: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    panels: Sequence[tuple[str, str]] = RESOURCE_PANELS,
    labels: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
) -> Figure:
    """Two panels (wall time, peak RSS) with n_cells on x and one line per method.

    ``runtime`` has columns dataset, method, n_cells, seconds, max_rss_mb (one row per
    repeat when there are several); both axes use a log scale.
    """
    require_columns(
        runtime, ["dataset", "method", "n_cells", *[c for c, _ in panels]], "runtime plot"
    )
    require_rows(runtime, "runtime plot")
    present = set(runtime["method"])
    methods = [m for m in order_methods(methods or runtime["method"]) if m in present]
    palette = dict(palette) if palette is not None else method_palette(methods)
    shown = method_labels(methods, labels)
    fig = Figure(figsize=(4.6 * len(panels) + 1.8, 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (column, label) in zip(axes, panels, strict=True):
        for method in methods:
            rows = runtime[runtime["method"] == method].dropna(subset=[column, "n_cells"])
            if rows.empty:
                continue
            means = rows.groupby("dataset")[[column, "n_cells"]].mean().sort_values("n_cells")
            highlight = is_highlighted(method)
            ax.plot(
                means["n_cells"],
                means[column],
                marker="*" if highlight else "o",
                markersize=9 if highlight else 5,
                lw=2.0 if highlight else 1.2,
                color=palette[method],
                label=shown[method],
            )
            if rows.groupby("dataset").size().max() > 1:
                ax.scatter(
                    rows["n_cells"],
                    rows[column],
                    s=10,
                    color=palette[method],
                    alpha=0.45,
                    linewidths=0,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 300, 2000 rather than 3x10^2, 2x10^3
            axis.set_major_formatter(PLAIN_NUMBER)
            axis.set_minor_formatter(PLAIN_NUMBER)
        ax.set_xlabel("number of cells")
        ax.set_ylabel(label)
        ax.grid(color="0.92", which="both")
    handles, entries = legend_entries(axes)
    fig.legend(handles, entries, loc="outside right upper", frameon=False, title="method")
    several = runtime.groupby(["dataset", "method"]).size().max() > 1
    fig.suptitle(
        "Runtime and peak memory of the integration step"
        + (" (mean over repeats; points: repeats)" if several else "")
    )
    add_label_note(fig, shown.values())
    return fig
