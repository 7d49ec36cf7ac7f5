"""Snakemake adapter: a results table rounded for reading in the report."""

import pandas as pd

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged


def main() -> None:
    table = pd.read_csv(snakemake.input[0])
    write_text_atomic(table.round(snakemake.params.digits).to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
