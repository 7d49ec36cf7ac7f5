"""Aggregate-score figures: F1 bars (paper Fig. 3a) and S_batch vs S_bio (Fig. 3b)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.layout import ordered_unique, panel_grid, require_columns, require_rows
from claire.bench.plots.palette import display_name, is_highlighted, method_palette, order_methods


def plot_f1_bars(
    scores: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
) -> Figure:
    """Grouped bars of F1 per dataset (groups) and method (one bar series per method).

    ``scores`` has columns dataset, method, f1 (NaN for failed methods, shown as "x").
    CLAIRE's bars carry a black outline and its legend entry is bold.
    """
    require_columns(scores, ["dataset", "method", "f1"], "F1 bar chart")
    require_rows(scores, "F1 bar chart")
    datasets = ordered_unique(scores["dataset"])
    methods = order_methods(methods if methods is not None else scores["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    f1 = scores.pivot_table(index="dataset", columns="method", values="f1", dropna=False)
    f1 = f1.reindex(index=datasets, columns=methods)

    width = 0.8 / len(methods)
    fig = Figure(figsize=(max(6.0, 1.1 * len(datasets) * (1 + 0.25 * len(methods))), 4.2))
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    x = np.arange(len(datasets))
    for i, method in enumerate(methods):
        values = f1[method].to_numpy(dtype=float)
        highlight = is_highlighted(method)
        offsets = x - 0.4 + width * (i + 0.5)
        ax.bar(
            offsets,
            np.nan_to_num(values, nan=0.0),
            width=width,
            color=palette[method],
            edgecolor="black" if highlight else "none",
            linewidth=1.4 if highlight else 0.0,
            alpha=1.0 if highlight else 0.85,
            label=display_name(method),
            zorder=3 if highlight else 2,
        )
        for offset in offsets[np.isnan(values)]:
            ax.text(offset, 0.01, "x", ha="center", va="bottom", fontsize=8, color="0.3")
    ax.set_xticks(x, [str(d) for d in datasets])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 of S_batch and S_bio")
    ax.set_title("F1 score per dataset (x = method failed)")
    ax.grid(axis="y", color="0.9", zorder=0)
    ax.set_axisbelow(True)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="method")
    _bold_highlight(legend, methods)
    return fig


def plot_batch_vs_bio(
    scores: pd.DataFrame,
    palette: Mapping[str, str] | None = None,
    methods: Sequence[str] | None = None,
    ncols: int = 3,
) -> Figure:
    """One scatter panel per dataset: S_batch (x) against S_bio (y), one point per method.

    Dashed grey curves are F1 isolines (0.2 ... 0.8); methods without scores are left out.
    """
    require_columns(scores, ["dataset", "method", "s_batch", "s_bio"], "S_batch vs S_bio plot")
    require_rows(scores, "S_batch vs S_bio plot")
    datasets = ordered_unique(scores["dataset"])
    methods = order_methods(methods if methods is not None else scores["method"])
    palette = dict(palette) if palette is not None else method_palette(methods)
    fig, axes = panel_grid(len(datasets), ncols, panel_size=(3.8, 3.6))
    for ax, dataset in zip(axes, datasets, strict=True):
        _f1_isolines(ax)
        rows = scores[scores["dataset"] == dataset].set_index("method")
        for method in methods:
            if method not in rows.index:
                continue
            point = rows.loc[method, ["s_batch", "s_bio"]].astype(float)
            if point.isna().any():
                continue
            highlight = is_highlighted(method)
            ax.scatter(
                point["s_batch"],
                point["s_bio"],
                s=150 if highlight else 55,
                marker="*" if highlight else "o",
                color=palette[method],
                edgecolor="black",
                linewidth=0.6,
                zorder=3 if highlight else 2,
                label=display_name(method),
            )
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("S_batch (batch mixing)")
        ax.set_ylabel("S_bio (biology conservation)")
        ax.set_title(str(dataset))
    handles, labels = {}, {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
            labels.setdefault(label, label)
    legend = fig.legend(
        list(handles.values()), list(labels), loc="outside right upper", frameon=False
    )
    _bold_highlight(legend, methods)
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


def _bold_highlight(legend, methods: Sequence[str]) -> None:
    names = {display_name(m) for m in methods if is_highlighted(m)}
    for text in legend.get_texts():
        if text.get_text() in names:
            text.set_fontweight("bold")
