"""Benchmark figures: one function per figure, taking tables/arrays, returning a Figure.

Figures use matplotlib's object API (no pyplot state), so they are safe in workflow
scripts and tests; :func:`save_figure` writes PNG/PDF atomically. Method display names
come from an optional ``labels`` mapping (the workflow's) or the method registry; metric
names, labels and colours from :mod:`claire.bench.registry`.
"""

from claire.bench.plots.curves import plot_training_curves
from claire.bench.plots.layout import message_figure
from claire.bench.plots.palette import method_labels, method_palette, order_methods
from claire.bench.plots.refinement import plot_seed_refinement
from claire.bench.plots.runtime import plot_runtime_memory
from claire.bench.plots.save import save_figure
from claire.bench.plots.scores import plot_batch_vs_bio, plot_f1_bars
from claire.bench.plots.sensitivity import plot_sensitivity
from claire.bench.plots.umap import compute_umap, embedding_umaps, plot_umap_grid

__all__ = [
    "compute_umap",
    "embedding_umaps",
    "message_figure",
    "method_labels",
    "method_palette",
    "order_methods",
    "plot_batch_vs_bio",
    "plot_f1_bars",
    "plot_runtime_memory",
    "plot_seed_refinement",
    "plot_sensitivity",
    "plot_training_curves",
    "plot_umap_grid",
    "save_figure",
]
