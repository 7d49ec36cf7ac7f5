"""Snakemake adapter: plot_umap's UMAP coordinates of every method (repeat 0) of a trajectory
dataset -> UMAP per method coloured by the true pseudotime."""

import anndata as ad

from claire.bench.logs import run_logged
from claire.bench.plots import save_figure
from claire.bench.plots.downstream import plot_pseudotime_umaps
from claire.bench.plots.umap import load_umap_coords


def main() -> None:
    params = snakemake.params
    coords, cells = load_umap_coords(snakemake.input.coords)
    pre = ad.read_h5ad(snakemake.input.preprocessed, backed="r")
    keys = params.pseudotime_key
    lineages = pre.obs.loc[cells, [keys] if isinstance(keys, str) else list(keys)]
    pseudotime = lineages.astype(float).bfill(axis=1).iloc[:, 0].to_numpy()
    coords = {params.labels.get(method, method): xy for method, xy in coords.items()}
    title = f"{snakemake.wildcards.dataset}: UMAP per method, coloured by true pseudotime"
    save_figure(plot_pseudotime_umaps(coords, pseudotime, title), *snakemake.output)


run_logged(main, snakemake.log[0])
