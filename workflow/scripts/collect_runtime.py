"""Snakemake adapter: integration benchmark TSVs + result files (status, n_obs) -> runtime.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.tables.collect import runtime_table


def main() -> None:
    table = runtime_table(snakemake.input.benchmarks, snakemake.input.results)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
