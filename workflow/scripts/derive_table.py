"""Snakemake adapter of every table that a table registry entry derives with its own
function (config/tables.yaml): its tables -> function -> results/tables/<name>.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.tables.registered import derive_table


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    params = snakemake.params
    tables = dict(zip(params.tables, snakemake.input, strict=True))
    table = derive_table(params.function, tables)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
