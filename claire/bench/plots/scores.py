"""Aggregate-score figures: F1 bars (paper Fig. 3a) and S_batch vs S_bio (Fig. 3b).

Both read scores.csv (one row per run: dataset, method, repeat). A method run several
times is drawn at its mean over the successful repeats, with sd error bars and one small
point per repeat; with one repeat the figures are the paper's.
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
    panel_grid,
    require_columns,
    require_rows,
)
from claire.bench.plots.palette import (
    is_highlighted,
    method_labels,
    method_palette,
    order_methods,
)
from claire.bench.tables.scores import repeat_stats

REPEAT_POINT = {"s": 9, "color": "black", "alpha": 0.55, "linewidths": 0, "zorder": 4}
ERROR_BAR = {"ecolor": "0.15", "elinewidth": 0.9, "capsize": 2.5, "ls": "none", "zorder": 4}


def _per_method(scores: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean, sd and count of ``columns`` per (dataset, method) over rows where all are set."""
    usable = scores.dropna(subset=list(columns))
    stats = repeat_stats(usable, columns).set_index(["dataset", "method"])
    stats["n"] = usable.groupby(["dataset", "method"]).size()
    return stats


def plot_f1_bars(
    scores: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Grouped bars of mean F1 per dataset (groups) and method (one bar series per method).

    ``scores`` has columns dataset, method, f1 (one row per repeat when there are several;
    NaN for a failed run). A method without any F1 on a dataset is shown as "x". Methods
    with several repeats get sd error bars and one point per repeat. CLAIRE's bars carry a
    black outline and its legend entry is bold.
    """
    require_columns(scores, ["dataset", "method", "f1"], "F1 bar chart")
    require_rows(scores, "F1 bar chart")
    datasets = ordered_unique(scores["dataset"])
    methods = order_methods(methods if methods is not None else scores["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    names = method_labels(methods, labels)
    stats = _per_method(scores, ["f1"])
    width = 0.8 / len(methods)
    fig = Figure(figsize=(max(6.0, 1.1 * len(datasets) * (1 + 0.25 * len(methods))), 4.2))
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    x = np.arange(len(datasets))
    for i, method in enumerate(methods):
        rows = stats.reindex([(d, method) for d in datasets])
        means, sds = rows["f1_mean"].to_numpy(float), rows["f1_sd"].to_numpy(float)
        highlight = is_highlighted(method)
        offsets = x - 0.4 + width * (i + 0.5)
        ax.bar(
            offsets,
            np.nan_to_num(means, nan=0.0),
            width=width,
            color=palette[method],
            edgecolor="black" if highlight else "none",
            linewidth=1.4 if highlight else 0.0,
            alpha=1.0 if highlight else 0.85,
            label=names[method],
            zorder=3 if highlight else 2,
        )
        spread = np.isfinite(sds)
        if spread.any():
            ax.errorbar(offsets[spread], means[spread], yerr=sds[spread], **ERROR_BAR)
        _repeat_points_1d(ax, scores, method, datasets, offsets, rows["n"].to_numpy(float))
        for offset in offsets[np.isnan(means)]:
            ax.text(offset, 0.01, "x", ha="center", va="bottom", fontsize=8, color="0.3")
    ax.set_xticks(x, [str(d) for d in datasets])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 of S_batch and S_bio")
    several = bool((stats["n"] > 1).any())
    spread_note = "mean ± sd over repeats, dots: repeats; " if several else ""
    ax.set_title(f"F1 score per dataset ({spread_note}x = method failed)")
    ax.grid(axis="y", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="method")
    _bold_highlight(legend, methods, names)
    add_label_note(fig, names.values())
    return fig


def _repeat_points_1d(ax, scores, method, datasets, offsets, counts) -> None:
    """One point per repeat above each bar of a method that ran more than once."""
    for dataset, offset, n in zip(datasets, offsets, counts, strict=True):
        if not n > 1:
            continue
        values = scores.loc[
            (scores["dataset"] == dataset) & (scores["method"] == method), "f1"
        ].dropna()
        ax.scatter(np.full(len(values), offset), values, **REPEAT_POINT)


def plot_batch_vs_bio(
    scores: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
    ncols: int = 3,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """One scatter panel per dataset: S_batch (x) against S_bio (y), one marker per method.

    The marker is the method's mean over its repeats; with several repeats it carries sd
    error bars in both directions and each repeat is a small faint point. Dashed grey
    curves are F1 isolines (0.2 ... 0.8); methods without scores are left out.
    """
    require_columns(scores, ["dataset", "method", "s_batch", "s_bio"], "S_batch vs S_bio plot")
    require_rows(scores, "S_batch vs S_bio plot")
    datasets = ordered_unique(scores["dataset"])
    methods = order_methods(methods if methods is not None else scores["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    names = method_labels(methods, labels)
    stats = _per_method(scores, ["s_batch", "s_bio"])
    usable = scores.dropna(subset=["s_batch", "s_bio"])
    fig, axes = panel_grid(len(datasets), ncols, panel_size=(3.8, 3.6))
    for ax, dataset in zip(axes, datasets, strict=True):
        _f1_isolines(ax)
        for method in methods:
            if (dataset, method) not in stats.index:
                continue
            point = stats.loc[(dataset, method)]
            highlight = is_highlighted(method)
            if point["n"] > 1:
                runs = usable[(usable["dataset"] == dataset) & (usable["method"] == method)]
                ax.scatter(
                    runs["s_batch"],
                    runs["s_bio"],
                    s=12,
                    color=palette[method],
                    alpha=0.45,
                    linewidths=0,
                    zorder=2,
                )
                ax.errorbar(
                    point["s_batch_mean"],
                    point["s_bio_mean"],
                    xerr=point["s_batch_sd"],
                    yerr=point["s_bio_sd"],
                    **{**ERROR_BAR, "ecolor": palette[method]},
                )
            ax.scatter(
                point["s_batch_mean"],
                point["s_bio_mean"],
                s=150 if highlight else 55,
                marker="*" if highlight else "o",
                color=palette[method],
                edgecolor="black",
                linewidth=0.6,
                zorder=5 if highlight else 4,
                label=names[method],
            )
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("S_batch (batch mixing)")
        ax.set_ylabel("S_bio (biology conservation)")
        ax.set_title(str(dataset))
    handles, entries = legend_entries(axes)
    legend = fig.legend(handles, entries, loc="outside right upper", frameon=False)
    _bold_highlight(legend, methods, names)
    if (stats["n"] > 1).any():
        fig.suptitle("Mean over repeats ± sd (small points: single repeats)", fontsize=9)
    add_label_note(fig, names.values())
    return fig


def _f1_isolines(ax) -> None:
    for level in (0.2, 0.4, 0.6, 0.8):
        s_batch = np.linspace(level / 2 + 1e-3, 1.0, 100)
        s_bio = level * s_batch / (2 * s_batch - level)
        keep = (s_bio >= 0) & (s_bio <= 1.0)
        ax.plot(s_batch[keep], s_bio[keep], ls="--", lw=0.7, color="0.75", zorder=1)
        ax.annotate(
            f"F1={level:.1f}",
            (1.0, level / (2 - level)),
            fontsize=7,
            color="0.5",
            ha="right",
            va="bottom",
        )


def _bold_highlight(legend, methods: Sequence[str], names: Mapping[str, str]) -> None:
    bold = {names[m] for m in methods if is_highlighted(m)}
    for text in legend.get_texts():
        if text.get_text() in bold:
            text.set_fontweight("bold")
