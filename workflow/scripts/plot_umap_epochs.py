"""Snakemake adapter: CLAIRE's embedding snapshots of one dataset -> UMAP per epoch (Fig. 2b-c)."""

from claire.bench.collect import load_snapshots
from claire.bench.logs import run_logged
from claire.bench.plots import display_name, embedding_umaps, plot_umap_grid, save_figure


def main() -> None:
    settings = snakemake.params.settings
    embeddings, obs = load_snapshots(
        snakemake.input[0], max_cells=settings["umap_max_cells"], seed=snakemake.params.seed
    )
    coords = embedding_umaps(embeddings, snakemake.params.seed, settings["umap_neighbors"])
    method = display_name(snakemake.wildcards.method)
    title = f"{snakemake.wildcards.dataset}: {method} during training ({len(obs)} cells)"
    save_figure(plot_umap_grid(coords, obs, title=title), *snakemake.output)


run_logged(main, snakemake.log[0])
