"""Snakemake adapter: metrics records of the sensitivity grid runs -> sensitivity.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.tables.scores import load_records
from claire.bench.tables.sensitivity import sensitivity_table


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    table = sensitivity_table(load_records(snakemake.input.records))
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
