"""Figures from per-repeat tables: means, sd error bars, repeat points, the label-use note."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.container import BarContainer, ErrorbarContainer

from claire.bench.plots import (
    plot_batch_vs_bio,
    plot_f1_bars,
    plot_runtime_memory,
    plot_seed_refinement,
    plot_training_curves,
    plot_umap_grid,
    save_figure,
)
from claire.bench.plots.layout import LABEL_NOTE
from claire.bench.registry.methods import display_name

LABELS = {"claire": "CLAIRE", "scvi": "scVI", "sup": "Supervised†"}


def _notes(fig) -> list[str]:
    return [t.get_text() for t in fig.texts]


@pytest.fixture
def scores() -> pd.DataFrame:
    """claire: 3 repeats; scvi: 2 repeats, one failed; sup: 1 repeat (label-informed)."""
    rows = [
        ("d", "claire", 0, 0.6, 0.8),
        ("d", "claire", 1, 0.7, 0.9),
        ("d", "claire", 2, 0.8, 1.0),
        ("d", "scvi", 0, 0.5, 0.5),
        ("d", "scvi", 1, math.nan, math.nan),
        ("d", "sup", 0, 0.2, 0.9),
    ]
    table = pd.DataFrame(rows, columns=["dataset", "method", "repeat", "s_batch", "s_bio"])
    table["f1"] = 2 * table["s_batch"] * table["s_bio"] / (table["s_batch"] + table["s_bio"])
    return table


def test_f1_bars_show_mean_sd_and_repeat_points(scores, tmp_path):
    fig = plot_f1_bars(scores, labels=LABELS)
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_label() for b in bars] == ["CLAIRE", "scVI", "Supervised†"]
    f1_claire = scores.loc[scores["method"] == "claire", "f1"].to_numpy()
    heights = [b.datavalues[0] for b in bars]
    assert heights == pytest.approx([f1_claire.mean(), 0.5, 2 * 0.2 * 0.9 / 1.1])
    (errors,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    (segment,) = errors.lines[2][0].get_segments()  # only CLAIRE has more than one F1
    assert segment[1, 1] - segment[0, 1] == pytest.approx(2 * f1_claire.std(ddof=1))
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(points.get_offsets()[:, 1]) == pytest.approx(sorted(f1_claire))
    assert LABEL_NOTE in _notes(fig)
    png, pdf = save_figure(fig, tmp_path / "f1.png", tmp_path / "f1.pdf")
    assert png.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")


def test_batch_vs_bio_marks_the_mean_with_error_bars(scores):
    fig = plot_batch_vs_bio(scores, labels=LABELS)
    (ax,) = fig.axes
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    markers = {c.get_label(): c.get_offsets()[0].tolist() for c in collections}
    assert markers["CLAIRE"] == pytest.approx([0.7, 0.9])
    assert markers["scVI"] == pytest.approx([0.5, 0.5])
    repeats = [c for c in collections if c.get_label().startswith("_")]
    assert [len(c.get_offsets()) for c in repeats] == [3]  # CLAIRE's three repeats
    (errors,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    x_bar, y_bar = (lc.get_segments()[0] for lc in errors.lines[2])
    assert x_bar[1, 0] - x_bar[0, 0] == pytest.approx(2 * 0.1)  # sd of 0.6, 0.7, 0.8
    assert y_bar[1, 1] - y_bar[0, 1] == pytest.approx(2 * 0.1)
    assert LABEL_NOTE in _notes(fig)
    assert LABEL_NOTE not in _notes(plot_batch_vs_bio(scores[scores["method"] != "sup"]))


def test_training_curves_average_repeats_for_any_method_with_snapshots():
    rows = [
        ("d", method, repeat, epoch, 0.1 * epoch + shift, 0.5, 0.3, 0.2 + shift)
        for method, shift in (("claire", 0.0), ("insct", 0.1))
        for repeat in (0, 1)
        for epoch in (0, 5, 10)
    ]
    curves = pd.DataFrame(
        rows, columns=["dataset", "method", "repeat", "epoch", "basw", "kbet", "ari", "nmi"]
    )
    curves.loc[(curves["method"] == "insct") & (curves["repeat"] == 1), "basw"] += 0.2
    fig = plot_training_curves(curves)
    basw = fig.axes[0]
    assert [line.get_label() for line in basw.lines] == ["CLAIRE", display_name("insct")]
    claire, insct = basw.lines
    assert claire.get_linewidth() > insct.get_linewidth()  # CLAIRE highlighted
    assert insct.get_ydata().tolist() == pytest.approx([0.2, 0.7, 1.2])  # mean of two repeats
    assert claire.get_xdata().tolist() == [0, 5, 10]
    bands = [c for c in basw.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one sd band per method (CLAIRE's has zero width)


def test_runtime_lines_go_through_the_mean_over_repeats():
    runtime = pd.DataFrame(
        [
            ("a", "claire", 0, 1000, 10.0, 300.0),
            ("a", "claire", 1, 1000, 14.0, 340.0),
            ("b", "claire", 0, 4000, 40.0, 500.0),
            ("a", "pca", 0, 1000, 1.0, 100.0),
            ("b", "pca", 0, 4000, 2.0, 150.0),
        ],
        columns=["dataset", "method", "repeat", "n_cells", "seconds", "max_rss_mb"],
    )
    fig = plot_runtime_memory(runtime)
    seconds, memory = fig.axes
    claire = seconds.lines[0]
    assert claire.get_xdata().tolist() == [1000, 4000]
    assert claire.get_ydata().tolist() == [12.0, 40.0]
    assert memory.lines[0].get_ydata().tolist() == [320.0, 500.0]
    points = [c for c in seconds.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [3]  # only CLAIRE has repeats


def test_seed_refinement_averages_repeats():
    table = pd.DataFrame(
        {
            "dataset": ["d", "d", "d"],
            "method": ["claire"] * 3,
            "repeat": [0, 1, 2],
            "refine_epoch": [2, 2, 2],
            "n_seeds_before": [500, 520, 540],
            "n_seeds_after": [400, 410, 430],
            "true_frac_before": [0.8, 0.7, 0.9],
            "true_frac_after": [0.95, 0.9, 0.85],
        }
    )
    (ax,) = plot_seed_refinement(table).axes
    before, after = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert before.datavalues.tolist() == pytest.approx([0.8])
    assert after.datavalues.tolist() == pytest.approx([0.9])
    assert [t.get_text() for t in ax.texts] == ["n=520", "n=413"]


def test_umap_grid_notes_label_informed_columns():
    rng = np.random.default_rng(0)
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical(rng.choice(["b1", "b2"], 20)),
            "cell_type": pd.Categorical(rng.choice(["t1", "t2"], 20)),
        }
    )
    coords = {"CLAIRE": rng.normal(size=(20, 2)), "Supervised†": rng.normal(size=(20, 2))}
    assert LABEL_NOTE in _notes(plot_umap_grid(coords, obs))
    assert LABEL_NOTE not in _notes(plot_umap_grid({"CLAIRE": coords["CLAIRE"]}, obs))
