"""Snakemake adapter: seed_refinement.csv -> true-seed share before/after refinement (Fig. 4a)."""

import pandas as pd

from claire.bench.logs import run_logged
from claire.bench.plots import plot_seed_refinement, save_figure


def main() -> None:
    table = pd.read_csv(snakemake.input[0])
    save_figure(plot_seed_refinement(table), *snakemake.output)


run_logged(main, snakemake.log[0])
