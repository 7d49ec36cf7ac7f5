"""Snakemake adapter: scaling.csv -> the time and memory against cells figure."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import save_figure
from claire.bench.plots.scaling import plot_scaling


def main() -> None:
    figure = plot_scaling(pd.read_csv(snakemake.input[0]), labels=snakemake.params.labels)
    save_figure(figure, *snakemake.output)


run_logged(main, snakemake.log[0])
