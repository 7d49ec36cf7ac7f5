"""Snakemake adapter: every method's embedding of one dataset -> UMAP grid (Fig. 3c)."""

from claire.bench.collect import load_embeddings
from claire.bench.logs import run_logged
from claire.bench.plots import display_name, embedding_umaps, plot_umap_grid, save_figure


def main() -> None:
    settings = snakemake.params.settings
    embeddings, obs = load_embeddings(
        dict(zip(snakemake.params.methods, snakemake.input, strict=True)),
        max_cells=settings["umap_max_cells"],
        seed=snakemake.params.seed,
    )
    coords = embedding_umaps(embeddings, snakemake.params.seed, settings["umap_neighbors"])
    coords = {display_name(method): xy for method, xy in coords.items()}
    title = f"{snakemake.wildcards.dataset}: UMAP of each method's embedding ({len(obs)} cells)"
    save_figure(plot_umap_grid(coords, obs, title=title), *snakemake.output)


run_logged(main, snakemake.log[0])
