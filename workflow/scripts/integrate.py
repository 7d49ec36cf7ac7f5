"""Snakemake adapter: run one method (any runner) on one preprocessed dataset, one repeat."""

from claire.bench.logs import run_logged
from claire.bench.methods.budget import Budget
from claire.bench.methods.runners import integrate_file


def main() -> None:
    integrate_file(
        snakemake.input.data,
        snakemake.output[0],
        runner=snakemake.params.runner,
        method=snakemake.wildcards.method,
        module=snakemake.params.module,
        script=snakemake.input.get("script"),
        params=snakemake.params.method_params,
        seed=snakemake.params.seed,
        repeat=int(snakemake.wildcards.repeat),
        threads=snakemake.threads,
        record_errors=snakemake.params.record_errors,
        budget=Budget(**snakemake.params.budget),
        previous=snakemake.input.get("previous"),
    )


run_logged(main, snakemake.log[0])
