"""Small helpers shared by the figure functions: input checks and panel grids."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


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
