"""Figures of the downstream analyses and the control-scaled scores (issue 26).

:func:`plot_method_heatmap` (a method x dataset heat map: label transfer, the control-scaled
overall score), :func:`plot_trajectory_bars` (trajectory conservation per method) and
:func:`plot_pseudotime_umaps` (the trajectory scenario's UMAP per method coloured by true
pseudotime).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from claire.bench.contract import STATUS_OK
from claire.bench.plots.layout import add_label_note, message_figure


def _label(method: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(method, method)


def method_means(raw: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean of ``column`` over the successful repeats, methods x datasets (NaN dropped)."""
    ok = raw[(raw["status"] == STATUS_OK) & raw[column].notna()]
    return ok.pivot_table(index="method", columns="dataset", values=column, aggfunc="mean")


def plot_method_heatmap(
    table: pd.DataFrame,
    title: str,
    colour_label: str,
    labels: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
) -> Figure:
    """Heat map of a methods x datasets table (values annotated; rows sorted by mean)."""
    if table.empty:
        return message_figure(title, "no values to show")
    if methods is not None:
        table = table.reindex([m for m in methods if m in table.index])
    table = table.loc[table.mean(axis=1).sort_values(ascending=False).index]
    values = table.to_numpy(dtype=float)
    fig = Figure(
        figsize=(1.4 * table.shape[1] + 3.5, 0.32 * table.shape[0] + 1.6), layout="constrained"
    )
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), list(table.columns), rotation=30, ha="right")
    names = [_label(m, labels) for m in table.index]
    ax.set_yticks(range(table.shape[0]), names)
    for (r, c), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(
                c,
                r,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 0.6 else "black",
            )
    fig.colorbar(image, ax=ax, label=colour_label, shrink=0.8)
    ax.set_title(title)
    add_label_note(fig, names)
    return fig


def plot_trajectory_bars(
    raw: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
) -> Figure:
    """Trajectory conservation per method, one panel per dataset that declares a pseudotime
    (mean over repeats; dots the repeats)."""
    title = "Trajectory conservation"
    ok = raw[(raw["status"] == STATUS_OK) & raw["trajectory"].notna()]
    if ok.empty:
        return message_figure(title, "no dataset declares a pseudotime_key")
    datasets = sorted(ok["dataset"].unique())
    fig = Figure(figsize=(6.5, 0.3 * ok["method"].nunique() * len(datasets) + 1.5))
    axes = fig.subplots(len(datasets), 1, squeeze=False)[:, 0]
    for ax, dataset in zip(axes, datasets, strict=True):
        part = ok[ok["dataset"] == dataset]
        means = part.groupby("method")["trajectory"].mean()
        order = [m for m in (methods or means.index) if m in means.index]
        order = sorted(order, key=lambda m: means[m])
        y = np.arange(len(order))
        ax.barh(y, [means[m] for m in order], color="#F0E442", edgecolor="0.3")
        for i, method in enumerate(order):
            points = part.loc[part["method"] == method, "trajectory"]
            ax.plot(points, np.full(len(points), i), "k.", markersize=3)
        ax.set_yticks(y, [_label(m, labels) for m in order], fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_title(dataset, fontsize=10)
        ax.set_xlabel("trajectory conservation ((Spearman + 1) / 2, mean over lineages)")
    fig.suptitle(title)
    fig.set_layout_engine("constrained")
    add_label_note(fig, [_label(m, labels) for m in ok["method"].unique()])
    return fig


def plot_pseudotime_umaps(
    coords: Mapping[str, np.ndarray | None], pseudotime: np.ndarray, title: str
) -> Figure:
    """One UMAP panel per method, cells coloured by their true pseudotime."""
    if not coords:
        return message_figure(title, "no embeddings")
    ncols = min(6, len(coords))
    nrows = int(np.ceil(len(coords) / ncols))
    fig = Figure(figsize=(2.5 * ncols + 1.0, 2.5 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    point_size = float(np.clip(4000.0 / max(len(pseudotime), 1), 0.5, 12.0))
    order = np.argsort(pseudotime)
    image = None
    for ax, (name, xy) in zip(axes, coords.items(), strict=False):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=9)
        if xy is None:
            ax.text(0.5, 0.5, "failed", ha="center", va="center", transform=ax.transAxes)
            continue
        xy = np.asarray(xy)[order]
        image = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=pseudotime[order],
            cmap="plasma",
            vmin=0,
            vmax=1,
            s=point_size,
            linewidths=0,
            rasterized=True,
        )
    for ax in axes[len(coords) :]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="true pseudotime", shrink=0.6)
    fig.suptitle(title)
    add_label_note(fig, list(coords))
    return fig
