"""Snakemake adapter: scaling runs (result files + benchmark records) -> scaling.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.tables.scaling import scaling_table


def main() -> None:
    table = scaling_table(snakemake.input.results, snakemake.input.benchmarks)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
