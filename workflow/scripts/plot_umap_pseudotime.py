"""Snakemake adapter: every method's embedding of a trajectory dataset (repeat 0) -> UMAP
per method coloured by the true pseudotime."""

import anndata as ad

from claire.bench.logs import run_logged
from claire.bench.plots import embedding_umaps, save_figure
from claire.bench.plots.downstream import plot_pseudotime_umaps
from claire.bench.tables.collect import load_embeddings


def main() -> None:
    settings, params = snakemake.params.settings, snakemake.params
    embeddings, obs = load_embeddings(
        dict(zip(params.methods, snakemake.input.results, strict=True)),
        max_cells=settings["umap_max_cells"],
        seed=params.seed,
    )
    pre = ad.read_h5ad(snakemake.input.preprocessed, backed="r")
    keys = params.pseudotime_key
    lineages = pre.obs.loc[obs.index, [keys] if isinstance(keys, str) else list(keys)]
    pseudotime = lineages.astype(float).bfill(axis=1).iloc[:, 0].to_numpy()
    coords = embedding_umaps(embeddings, params.seed, settings["umap_neighbors"])
    coords = {params.labels.get(method, method): xy for method, xy in coords.items()}
    title = f"{snakemake.wildcards.dataset}: UMAP per method, coloured by true pseudotime"
    save_figure(plot_pseudotime_umaps(coords, pseudotime, title), *snakemake.output)


run_logged(main, snakemake.log[0])
