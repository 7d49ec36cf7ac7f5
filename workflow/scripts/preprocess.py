"""Snakemake adapter: preprocess a raw dataset (filter, normalise, log1p, HVGs)."""

import anndata as ad

from claire.bench.io import write_h5ad_atomic
from claire.bench.logs import run_logged
from claire.bench.preprocess import preprocess


def main() -> None:
    raw = ad.read_h5ad(snakemake.input[0])
    out = preprocess(
        raw,
        n_hvg=snakemake.params.n_hvg,
        min_cells=snakemake.params.min_cells,
        name=snakemake.wildcards.dataset,
        integer_counts=snakemake.params.integer_counts,
        not_log_transformed=snakemake.params.not_log_transformed,
    )
    write_h5ad_atomic(out, snakemake.output[0])


run_logged(main, snakemake.log[0])
