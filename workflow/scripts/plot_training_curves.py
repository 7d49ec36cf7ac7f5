"""Snakemake adapter: training_curves.csv -> metric-versus-epoch curves (Fig. 2a, S8)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import message_figure, method_palette, plot_training_curves, save_figure


def main() -> None:
    curves = pd.read_csv(snakemake.input[0])
    methods = snakemake.params.methods
    if curves.empty:
        fig = message_figure("Training curves", "no method kept embedding snapshots in this run")
    else:
        fig = plot_training_curves(
            curves, method_palette(methods), labels=snakemake.params.labels, methods=methods
        )
    save_figure(fig, *snakemake.output)


run_logged(main, snakemake.log[0])
