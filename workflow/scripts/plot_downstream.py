"""Snakemake adapter: raw_metrics.csv, control_scaled_summary.csv -> label-transfer heat map,
trajectory-conservation bars, control-scaled overall heat map."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import save_figure
from claire.bench.plots.downstream import (
    method_means,
    plot_method_heatmap,
    plot_trajectory_bars,
)


def main() -> None:
    params = snakemake.params
    raw = pd.read_csv(snakemake.input.raw)
    transfer = plot_method_heatmap(
        method_means(raw, "label_transfer"),
        "k-NN label transfer accuracy (leave one batch out, k = 10)",
        "accuracy",
        labels=params.labels,
        methods=params.methods,
    )
    save_figure(transfer, *snakemake.output.label_transfer)
    bars = plot_trajectory_bars(raw, labels=params.labels, methods=params.methods)
    save_figure(bars, *snakemake.output.trajectory)
    scaled = pd.read_csv(snakemake.input.control_summary)
    overall = scaled.pivot_table(index="method", columns="dataset", values="overall")
    heatmap = plot_method_heatmap(
        overall,
        "Control-scaled overall score (metrics scaled between the controls)",
        "overall score",
        labels=params.labels,
        methods=params.methods,
    )
    save_figure(heatmap, *snakemake.output.control_scaled)


run_logged(main, snakemake.log[0])
