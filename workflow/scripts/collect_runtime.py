"""Snakemake adapter: integration benchmark TSVs + result files (status, n_obs, schedule)
-> runtime.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.methods import load_registry
from claire.bench.tables.collect import runtime_table


def main() -> None:
    specs = load_registry(snakemake.config.get("method_registry") or [])
    table = runtime_table(snakemake.input.benchmarks, snakemake.input.results, specs)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
