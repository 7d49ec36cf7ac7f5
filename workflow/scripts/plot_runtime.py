"""Snakemake adapter: runtime.csv -> wall time and peak memory per method (S2/S3)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import method_palette, plot_runtime_memory, save_figure


def main() -> None:
    methods = snakemake.params.methods
    fig = plot_runtime_memory(
        pd.read_csv(snakemake.input[0]),
        method_palette(methods),
        labels=snakemake.params.labels,
        methods=methods,
    )
    save_figure(fig, *snakemake.output)


run_logged(main, snakemake.log[0])
