"""Snakemake adapter: run one method (any runner) on one preprocessed dataset, one repeat."""

from claire.bench.io import write_h5ad_atomic
from claire.bench.logs import run_logged
from claire.bench.methods.runners import integrate_file


def main() -> None:
    result = integrate_file(
        snakemake.input.data,
        runner=snakemake.params.runner,
        method=snakemake.wildcards.method,
        module=snakemake.params.module,
        script=snakemake.input.get("script"),
        params=snakemake.params.method_params,
        seed=snakemake.params.seed,
        repeat=int(snakemake.wildcards.repeat),
        threads=snakemake.threads,
        record_errors=snakemake.params.record_errors,
    )
    write_h5ad_atomic(result, snakemake.output[0])


run_logged(main, snakemake.log[0])
