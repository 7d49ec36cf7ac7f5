"""Snakemake adapter: a method's embedding snapshots -> UMAP per epoch (Fig. 2b-c)."""

from claire.bench.logs import run_logged
from claire.bench.plots import embedding_umaps, plot_umap_grid, save_figure
from claire.bench.tables.collect import load_snapshots


def main() -> None:
    settings, params = snakemake.params.settings, snakemake.params
    embeddings, obs = load_snapshots(
        snakemake.input[0], max_cells=settings["umap_max_cells"], seed=params.seed
    )
    coords = embedding_umaps(embeddings, params.seed, settings["umap_neighbors"])
    title = f"{snakemake.wildcards.dataset}: {params.label} during training ({len(obs)} cells)"
    save_figure(plot_umap_grid(coords, obs, title=title), *snakemake.output)


run_logged(main, snakemake.log[0])
