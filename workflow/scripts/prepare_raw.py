"""Snakemake adapter: build results/data/{dataset}/raw.h5ad from the dataset's config entry."""

from pathlib import Path

from claire.bench.datasets import load_raw
from claire.bench.io import write_h5ad_atomic
from claire.bench.logs import run_logged


def main() -> None:
    files = {role: Path(path) for role, path in snakemake.input.items() if role != "h5ad"}
    raw = load_raw(
        snakemake.wildcards.dataset, snakemake.params.spec, seed=snakemake.params.seed, files=files
    )
    write_h5ad_atomic(raw, snakemake.output[0])


run_logged(main, snakemake.log[0])
