"""UMAP grids of embeddings coloured by cell type and by batch (paper Fig. 2b-c, 3c)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from claire.bench.plots.layout import add_label_note
from claire.bench.plots.palette import category_palette

log = logging.getLogger(__name__)

COLOUR_ROWS = (("cell_type", "cell type"), ("batch", "batch"))


def compute_umap(embedding: np.ndarray, seed: int, n_neighbors: int = 15) -> np.ndarray:
    """2-D UMAP of an embedding (scanpy neighbours + UMAP, seeded). Returns (n, 2) float32."""
    import scanpy as sc

    embedding = np.asarray(embedding, dtype=np.float32)
    if embedding.ndim != 2 or embedding.shape[1] == 0:
        raise ValueError(f"embedding must be a non-empty 2-D array, got shape {embedding.shape}")
    if embedding.shape[0] < 3:
        raise ValueError(f"UMAP needs at least 3 cells, got {embedding.shape[0]}")
    if not np.isfinite(embedding).all():
        raise ValueError("embedding contains NaN or infinite values")
    adata = ad.AnnData(obs=pd.DataFrame(index=[str(i) for i in range(embedding.shape[0])]))
    adata.obsm["X_emb"] = embedding
    n_neighbors = int(min(n_neighbors, embedding.shape[0] - 1))
    sc.pp.neighbors(adata, n_neighbors=n_neighbors, use_rep="X_emb", random_state=seed)
    sc.tl.umap(adata, random_state=seed)
    return adata.obsm["X_umap"].astype(np.float32)


def plot_umap_grid(
    coords: Mapping[str, np.ndarray | None],
    obs: pd.DataFrame,
    title: str | None = None,
    seed: int = 0,
    rows: Sequence[tuple[str, str]] = COLOUR_ROWS,
) -> Figure:
    """One column per entry of ``coords`` (method or epoch), one row per colouring.

    ``coords`` maps a column title to (n, 2) UMAP coordinates of the cells in ``obs``
    (same rows), or to None for a failed method (the panels then say so). ``obs`` has
    the columns named in ``rows`` (default cell_type and batch). Points are drawn in a
    seeded random order so no group systematically hides another. When a column title or
    the title carries the label-use mark (†), a note under the figure explains it.
    """
    if not coords:
        raise ValueError("UMAP grid: no embeddings to plot")
    missing = [key for key, _ in rows if key not in obs.columns]
    if missing:
        raise ValueError(f"UMAP grid: obs lacks columns {missing}")
    for name, xy in coords.items():
        if xy is not None and np.asarray(xy).shape != (len(obs), 2):
            raise ValueError(
                f"UMAP grid: {name} has shape {np.asarray(xy).shape}, expected ({len(obs)}, 2)"
            )
    order = np.random.default_rng(seed).permutation(len(obs))
    point_size = float(np.clip(4000.0 / max(len(obs), 1), 0.5, 12.0))
    ncols = len(coords)
    fig = Figure(figsize=(2.6 * ncols + 2.2, 2.6 * len(rows) + 0.4), layout="constrained")
    grid = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (key, label) in enumerate(rows):
        values = obs[key].astype(str).to_numpy()
        categories = (
            list(obs[key].cat.categories.astype(str))
            if isinstance(obs[key].dtype, pd.CategoricalDtype)
            else sorted(set(values))
        )
        colours = category_palette(categories)
        point_colours = np.array([colours[v] for v in values])[order]
        for c, (name, xy) in enumerate(coords.items()):
            ax = grid[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=10)
            if c == 0:
                ax.set_ylabel(label)
            if xy is None:
                ax.text(
                    0.5,
                    0.5,
                    "failed",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="0.4",
                )
                continue
            xy = np.asarray(xy)[order]
            ax.scatter(
                xy[:, 0], xy[:, 1], c=point_colours, s=point_size, linewidths=0, rasterized=True
            )
        handles = [
            Line2D([], [], marker="o", ls="", color=colours[cat], markersize=5, label=cat)
            for cat in categories
        ]
        grid[r, -1].legend(
            handles=handles,
            title=label,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            fontsize=7,
            title_fontsize=8,
            ncols=1 if len(categories) <= 14 else 2,
        )
    if title:
        fig.suptitle(title)
    add_label_note(fig, [*coords, title or ""])
    return fig


def embedding_umaps(
    embeddings: Mapping[str, np.ndarray | None], seed: int, n_neighbors: int = 15
) -> dict[str, np.ndarray | None]:
    """UMAP coordinates of every embedding (None stays None: a failed method)."""
    coords: dict[str, np.ndarray | None] = {}
    for name, embedding in embeddings.items():
        if embedding is None:
            coords[name] = None
            continue
        log.info("UMAP of %s (%d cells x %d dims)", name, *np.shape(embedding))
        coords[name] = compute_umap(embedding, seed=seed, n_neighbors=n_neighbors)
    return coords


def save_umap_coords(
    path: str | Path, coords: Mapping[str, np.ndarray | None], cells: Sequence[str]
) -> None:
    """Write every method's 2-D UMAP (None: a failed method, stored as NaN) and the cells."""
    names = list(coords)
    stacked = np.full((len(names), len(cells), 2), np.nan, dtype=np.float32)
    for i, name in enumerate(names):
        if coords[name] is not None:
            stacked[i] = coords[name]
    with open(path, "wb") as handle:
        np.savez(handle, methods=np.array(names), cells=np.asarray(cells, dtype=str), xy=stacked)


def load_umap_coords(path: str | Path) -> tuple[dict[str, np.ndarray | None], pd.Index]:
    """The coordinates :func:`save_umap_coords` wrote (per method) and the cells' index."""
    with np.load(path) as data:
        coords = {
            str(name): None if np.isnan(xy).all() else xy
            for name, xy in zip(data["methods"], data["xy"], strict=True)
        }
        return coords, pd.Index(data["cells"])
