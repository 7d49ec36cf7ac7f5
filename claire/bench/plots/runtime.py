"""Runtime and peak memory per method against dataset size (supplementary S2/S3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from claire.bench.plots.layout import require_columns, require_rows
from claire.bench.plots.palette import display_name, is_highlighted, method_palette, order_methods

PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:g}")
RESOURCE_PANELS = (("seconds", "wall time (s)"), ("max_rss_mb", "peak memory, max RSS (MB)"))


def plot_runtime_memory(
    runtime: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    panels: Sequence[tuple[str, str]] = RESOURCE_PANELS,
) -> Figure:
    """Two panels (wall time, peak RSS) with n_cells on x and one line per method.

    ``runtime`` has columns dataset, method, n_cells, seconds, max_rss_mb; both axes
    use a log scale.
    """
    require_columns(
        runtime, ["dataset", "method", "n_cells", *[c for c, _ in panels]], "runtime plot"
    )
    require_rows(runtime, "runtime plot")
    methods = order_methods(runtime["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    fig = Figure(figsize=(4.6 * len(panels) + 1.8, 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (column, label) in zip(axes, panels, strict=True):
        for method in methods:
            rows = runtime[runtime["method"] == method].dropna(subset=[column])
            rows = rows.sort_values("n_cells")
            if rows.empty:
                continue
            highlight = is_highlighted(method)
            ax.plot(
                rows["n_cells"],
                rows[column],
                marker="*" if highlight else "o",
                markersize=9 if highlight else 5,
                lw=2.0 if highlight else 1.2,
                color=palette[method],
                label=display_name(method),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 300, 2000 rather than 3x10^2, 2x10^3
            axis.set_major_formatter(PLAIN_NUMBER)
            axis.set_minor_formatter(PLAIN_NUMBER)
        ax.set_xlabel("number of cells")
        ax.set_ylabel(label)
        ax.grid(color="0.92", which="both")
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="method")
    fig.suptitle("Runtime and peak memory of the integration step")
    return fig
