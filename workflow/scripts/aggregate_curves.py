"""Snakemake adapter: per-run training curves (rep{r}.curve.csv) -> training_curves.csv."""

import pandas as pd

from claire.bench.contract import parse_run_path
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.tables.scores import curve_table


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    curves = {
        parse_run_path(path, ".curve.csv"): pd.read_csv(path) for path in snakemake.input.curves
    }
    write_text_atomic(curve_table(curves).to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
