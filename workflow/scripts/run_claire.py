"""Snakemake adapter: train CLAIRE (or an ablation) on one preprocessed dataset."""

import os

# Sleeping (not spinning) OpenMP workers: far faster when the job shares its cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import anndata as ad  # noqa: E402
import torch  # noqa: E402

from claire.bench.io import write_h5ad_atomic  # noqa: E402
from claire.bench.logs import run_logged  # noqa: E402
from claire.bench.methods.claire import integration_result  # noqa: E402


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    result = integration_result(
        ad.read_h5ad(snakemake.input[0]),
        method=snakemake.wildcards.method,
        params=snakemake.params.claire_params,
        seed=snakemake.params.seed,
        record_errors=snakemake.params.record_errors,
    )
    write_h5ad_atomic(result, snakemake.output[0])


run_logged(main, snakemake.log[0])
