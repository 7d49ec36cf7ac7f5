"""Snakemake adapter of every registered figure (config/figures.yaml): its tables -> the
registry entry's plot function -> results/figures/<name>.{png,pdf}."""

from claire.bench.logs import run_logged
from claire.bench.plots import save_figure
from claire.bench.plots.figures import draw
from claire.bench.registry.metrics import load_config_metrics


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    params = snakemake.params
    tables = dict(zip(params.tables, snakemake.input, strict=True))
    figure = draw(params.function, tables, methods=params.methods, labels=params.labels)
    save_figure(figure, *snakemake.output)


run_logged(main, snakemake.log[0])
