"""Snakemake adapter: scores.csv -> F1 bars (Fig. 3a) and S_batch vs S_bio (Fig. 3b)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import method_palette, plot_batch_vs_bio, plot_f1_bars, save_figure


def main() -> None:
    scores = pd.read_csv(snakemake.input[0])
    methods, labels = snakemake.params.methods, snakemake.params.labels
    palette = method_palette(methods)
    f1 = plot_f1_bars(scores, palette, methods=methods, labels=labels)
    save_figure(f1, *snakemake.output.f1)
    batch_vs_bio = plot_batch_vs_bio(scores, palette, methods=methods, labels=labels)
    save_figure(batch_vs_bio, *snakemake.output.batch_vs_bio)


run_logged(main, snakemake.log[0])
