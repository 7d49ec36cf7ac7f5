"""Snakemake adapter: every method's embedding of one dataset (repeat 0) -> UMAP grid (Fig. 3c),
and the UMAP coordinates (plot_umap_pseudotime draws them again)."""

from claire.bench.logs import run_logged
from claire.bench.plots import embedding_umaps, plot_umap_grid, save_figure
from claire.bench.plots.umap import save_umap_coords
from claire.bench.tables.collect import load_embeddings


def main() -> None:
    settings, params = snakemake.params.settings, snakemake.params
    embeddings, obs = load_embeddings(
        dict(zip(params.methods, snakemake.input, strict=True)),
        max_cells=settings["umap_max_cells"],
        seed=params.seed,
    )
    coords = embedding_umaps(embeddings, params.seed, settings["umap_neighbors"])
    save_umap_coords(snakemake.output.coords, coords, obs.index)
    coords = {params.labels.get(method, method): xy for method, xy in coords.items()}
    title = f"{snakemake.wildcards.dataset}: UMAP of each method's embedding ({len(obs)} cells)"
    save_figure(plot_umap_grid(coords, obs, title=title), *snakemake.output.figure)


run_logged(main, snakemake.log[0])
