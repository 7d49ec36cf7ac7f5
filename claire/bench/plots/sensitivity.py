"""Hyper-parameter sensitivity of CLAIRE (alpha, k, eta; paper Fig. 4b, S10)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.curves import curve_panels
from claire.bench.plots.layout import ordered_unique, require_columns, require_rows
from claire.bench.registry.metrics import metric_colour, metric_registry

PARAM_LABELS = {
    "alpha": "alpha (mixup lower bound)",
    "knn": "k (intra-batch KNN)",
    "eta": "eta (refinement threshold)",
}


def plot_sensitivity(
    table: pd.DataFrame,
    metrics: Sequence[tuple[str, str]] | None = None,
) -> Figure:
    """Grid with one row per dataset and one column per parameter; one line per metric.

    ``table`` (sensitivity.csv) has columns dataset, param, value and the metric columns
    (default: the registry's curve metrics); each row is one CLAIRE run where ``param`` was
    set to ``value`` and the others kept at their defaults.
    """
    metrics = curve_panels() if metrics is None else metrics
    require_columns(
        table, ["dataset", "param", "value", *[m for m, _ in metrics]], "sensitivity plot"
    )
    require_rows(table, "sensitivity plot")
    datasets = ordered_unique(table["dataset"])
    known = list(PARAM_LABELS)
    params = sorted(
        ordered_unique(table["param"]), key=lambda p: known.index(p) if p in known else len(known)
    )
    fig = Figure(figsize=(3.4 * len(params) + 1.4, 2.8 * len(datasets)), layout="constrained")
    grid = fig.subplots(len(datasets), len(params), squeeze=False, sharey=True)
    for r, dataset in enumerate(datasets):
        for c, param in enumerate(params):
            ax = grid[r, c]
            rows = table[(table["dataset"] == dataset) & (table["param"] == param)]
            rows = rows.sort_values("value")
            for metric, label in metrics:
                ax.plot(
                    rows["value"],
                    rows[metric],
                    marker="o",
                    markersize=4,
                    color=metric_colour(metric) if metric in metric_registry().by_name else None,
                    label=label,
                )
            ax.set_ylim(-0.02, 1.02)
            ax.grid(color="0.92")
            ax.set_xlabel(PARAM_LABELS.get(param, param))
            if c == 0:
                ax.set_ylabel(f"{dataset}\nscore")
    handles, labels = grid[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="metric")
    fig.suptitle("CLAIRE hyper-parameter sensitivity (one parameter varied at a time)")
    return fig
