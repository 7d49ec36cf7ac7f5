"""Snakemake adapter: run one Python integration method on one preprocessed dataset."""

import anndata as ad

from claire.bench.io import write_h5ad_atomic
from claire.bench.logs import run_logged
from claire.bench.methods.base import load_adapter, run_method


def main() -> None:
    adata = ad.read_h5ad(snakemake.input[0])
    result = run_method(
        adata,
        method=snakemake.wildcards.method,
        adapter=load_adapter(snakemake.params.module),
        params=snakemake.params.method_params,
        seed=snakemake.params.seed,
        record_errors=snakemake.params.record_errors,
    )
    write_h5ad_atomic(result, snakemake.output[0])


run_logged(main, snakemake.log[0])
