"""Snakemake adapter: run one R integration method (runner rscript) on one dataset.

The data goes to R through files (see claire.bench.methods.seurat); Rscript runs the
method's script; failures are recorded like those of Python methods.
"""

import anndata as ad

from claire.bench.io import write_h5ad_atomic
from claire.bench.logs import run_logged
from claire.bench.methods.base import run_method
from claire.bench.methods.seurat import r_adapter


def main() -> None:
    adata = ad.read_h5ad(snakemake.input.data)
    result = run_method(
        adata,
        method=snakemake.wildcards.method,
        adapter=r_adapter(snakemake.input.script),
        params=snakemake.params.method_params,
        seed=snakemake.params.seed,
        record_errors=snakemake.params.record_errors,
    )
    write_h5ad_atomic(result, snakemake.output[0])


run_logged(main, snakemake.log[0])
