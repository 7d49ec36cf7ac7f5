"""Seed-refinement accuracy: share of true seeds before and after refinement (Fig. 4a)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.layout import message_figure, ordered_unique, require_columns
from claire.bench.plots.palette import HIGHLIGHT_COLOUR, method_labels

REFINEMENT_COLUMNS = (
    "dataset",
    "method",
    "n_seeds_before",
    "n_seeds_after",
    "true_frac_before",
    "true_frac_after",
)
VALUE_COLUMNS = REFINEMENT_COLUMNS[2:]
BEFORE_COLOUR = "#9E9E9E"
TITLE = "Seed refinement: true seeds before and after the GMM filter"


def _usable(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with a true-seed share and a refinement epoch, averaged over repeats per
    (dataset, method) in first-seen order (column ``n_repeats`` added)."""
    usable = table.dropna(subset=["true_frac_before", "true_frac_after"])
    if "refine_epoch" in usable.columns:  # runs without refinement (var2) have no epoch
        usable = usable.dropna(subset=["refine_epoch"])
    if usable.empty:
        return usable
    keys = ["dataset", "method"]
    grouped = usable.groupby(keys, sort=False)
    means = grouped[list(VALUE_COLUMNS)].mean().assign(n_repeats=grouped.size())
    order = ordered_unique(zip(usable["dataset"], usable["method"], strict=True))
    return means.loc[order].reset_index()


def plot_seed_refinement(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> Figure:
    """Two bar series (before, after refinement) per dataset/method with seed counts on top.

    Repeats of a run are averaged (seed counts rounded). Rows without a true-seed share (no
    labels) or without a refinement epoch (var2) are left out; when none remain the figure
    says so instead of failing.
    """
    require_columns(table, REFINEMENT_COLUMNS, "seed refinement plot")
    usable = _usable(table)
    if usable.empty:
        return message_figure(TITLE, "no labelled refinement statistics in this run")
    names = method_labels(usable["method"], labels)
    fig = Figure(figsize=(max(5.0, 1.5 * len(usable) + 2.5), 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set_ylabel("share of true seeds (same cell type)")
    several_repeats = bool((usable["n_repeats"] > 1).any())
    ax.set_title(TITLE + (" (mean over repeats)" if several_repeats else ""))
    several_methods = usable["method"].nunique() > 1
    ticks = [
        f"{row.dataset}\n{names[row.method]}" if several_methods else str(row.dataset)
        for row in usable.itertuples()
    ]
    x = np.arange(len(usable))
    width = 0.38
    for shift, stage, colour in (
        (-width / 2, "before", BEFORE_COLOUR),
        (width / 2, "after", HIGHLIGHT_COLOUR),
    ):
        fractions = usable[f"true_frac_{stage}"].to_numpy(dtype=float)
        counts = usable[f"n_seeds_{stage}"].to_numpy(dtype=float)
        bars = ax.bar(x + shift, fractions, width=width, color=colour, label=f"{stage} refinement")
        ax.bar_label(bars, labels=[f"n={round(n)}" for n in counts], fontsize=7, padding=2)
    low = float(np.nanmin(usable[["true_frac_before", "true_frac_after"]].to_numpy()))
    ax.set_ylim(max(0.0, min(low - 0.1, 0.8)), 1.06)
    ax.set_xticks(x, ticks)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig
