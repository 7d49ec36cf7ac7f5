"""Snakemake adapter: integration benchmark TSVs + raw metrics (n_cells) -> runtime.csv."""

import pandas as pd

from claire.bench.collect import runtime_table
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged


def main() -> None:
    raw = pd.read_csv(snakemake.input.raw_metrics)
    table = runtime_table(snakemake.input.benchmarks, raw)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
