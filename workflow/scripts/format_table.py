"""Snakemake adapter: a results table as a rounded HTML page for the report."""

import pandas as pd

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.tables.render import table_html


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    table = pd.read_csv(snakemake.input[0])
    page = table_html(table, title=snakemake.params.title, digits=snakemake.params.digits)
    write_text_atomic(page, snakemake.output[0])


run_logged(main, snakemake.log[0])
