"""Small helpers shared by the figure functions: input checks and panel grids."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from claire.bench.registry.methods import LABEL_USE_MARK

LABEL_NOTE = f"{LABEL_USE_MARK} uses cell-type labels"


def require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming the missing columns when ``table`` lacks any of them."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing}; got {list(table.columns)}")


def require_rows(table: pd.DataFrame, what: str) -> None:
    """Raise ``ValueError`` when ``table`` is empty."""
    if table.empty:
        raise ValueError(f"{what}: the table has no rows to plot")


def panel_grid(
    n_panels: int,
    ncols: int,
    panel_size: tuple[float, float] = (4.0, 3.4),
    sharex: bool = False,
    sharey: bool = False,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` axes on a grid of at most ``ncols`` columns (no spare axes)."""
    if n_panels < 1:
        raise ValueError("a figure needs at least one panel")
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey)
    axes = list(grid.ravel())
    for spare in axes[n_panels:]:
        fig.delaxes(spare)
    return fig, axes[:n_panels]


def ordered_unique(values: Iterable) -> list:
    """Unique values in first-seen order."""
    return list(dict.fromkeys(values))


def message_figure(title: str, message: str) -> Figure:
    """A one-panel figure that states why there is nothing to plot (e.g. no CLAIRE run)."""
    fig = Figure(figsize=(6.0, 2.4), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.35")
    return fig


def add_label_note(fig: Figure, names: Iterable[str]) -> bool:
    """Add the note "† uses cell-type labels" under ``fig`` when a shown name carries the
    mark; returns whether it did."""
    if not any(LABEL_USE_MARK in str(name) for name in names):
        return False
    fig.text(0.01, 0.0, LABEL_NOTE, ha="left", va="top", fontsize=8, color="0.3")
    return True


def legend_entries(axes: Iterable[Axes]) -> tuple[list, list[str]]:
    """Legend handles and labels of several axes, each label once, in first-seen order."""
    handles: list = []
    labels: list[str] = []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels
