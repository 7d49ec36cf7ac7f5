"""Snakemake adapter: sensitivity.csv -> metric per grid value of alpha, k, eta (Fig. 4b)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import plot_sensitivity, save_figure


def main() -> None:
    save_figure(plot_sensitivity(pd.read_csv(snakemake.input[0])), *snakemake.output)


run_logged(main, snakemake.log[0])
