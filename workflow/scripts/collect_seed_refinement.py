"""Snakemake adapter: uns["claire"]["refinement"] of CLAIRE results -> seed_refinement.csv."""

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.tables.collect import seed_refinement_table


def main() -> None:
    table = seed_refinement_table(snakemake.input.results)
    write_text_atomic(table.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
