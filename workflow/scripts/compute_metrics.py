"""Snakemake adapter: score one integration result -> metrics/{dataset}/{method}/rep{r}.json."""

import anndata as ad

from claire.bench.logs import run_logged
from claire.bench.metrics import MetricSettings
from claire.bench.metrics.evaluate import (
    metrics_record,
    pseudotime_table,
    unintegrated_matrix,
    write_record,
)
from claire.bench.registry.metrics import load_config_metrics


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    settings = MetricSettings.from_config(
        snakemake.params.metrics, seed=snakemake.params.seed, n_jobs=snakemake.threads
    )
    result = ad.read_h5ad(snakemake.input.integration)
    x_pre = pseudotimes = None
    key = snakemake.params.pseudotime_key
    if settings.extended or key:
        pre = ad.read_h5ad(snakemake.input.preprocessed)
        x_pre = unintegrated_matrix(pre, result) if settings.extended else None
        pseudotimes = pseudotime_table(pre, result, key) if key else None
    wildcards = snakemake.wildcards
    record = metrics_record(
        result,
        wildcards.dataset,
        wildcards.method,
        settings,
        x_pre,
        repeat=int(wildcards.repeat),
        pseudotimes=pseudotimes,
    )
    write_record(record, snakemake.output[0])


run_logged(main, snakemake.log[0])
