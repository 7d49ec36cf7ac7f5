"""Snakemake adapter: per-method training curves -> results/tables/training_curves.csv."""

from pathlib import Path

import pandas as pd

from claire.bench.aggregate import curve_table
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged


def main() -> None:
    curves = {
        (Path(path).parent.name, Path(path).name.removesuffix(".curve.csv")): pd.read_csv(path)
        for path in snakemake.input.curves
    }
    write_text_atomic(curve_table(curves).to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
