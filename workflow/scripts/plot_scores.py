"""Snakemake adapter: scores.csv -> F1 bars (Fig. 3a) and S_batch vs S_bio (Fig. 3b)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import method_palette, plot_batch_vs_bio, plot_f1_bars, save_figure


def main() -> None:
    scores = pd.read_csv(snakemake.input[0])
    palette = method_palette(snakemake.params.methods)
    save_figure(plot_f1_bars(scores, palette), *snakemake.output.f1)
    save_figure(plot_batch_vs_bio(scores, palette), *snakemake.output.batch_vs_bio)


run_logged(main, snakemake.log[0])
