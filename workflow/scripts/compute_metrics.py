"""Snakemake adapter: score one integration result -> metrics/{dataset}/{method}/rep{r}.json."""

import anndata as ad

from claire.bench.logs import run_logged
from claire.bench.metrics import MetricSettings
from claire.bench.metrics.evaluate import metrics_record, unintegrated_matrix, write_record


def main() -> None:
    settings = MetricSettings.from_config(
        snakemake.params.metrics, seed=snakemake.params.seed, n_jobs=snakemake.threads
    )
    result = ad.read_h5ad(snakemake.input.integration)
    x_pre = None
    if settings.extended:
        x_pre = unintegrated_matrix(ad.read_h5ad(snakemake.input.preprocessed), result)
    wildcards = snakemake.wildcards
    record = metrics_record(
        result, wildcards.dataset, wildcards.method, settings, x_pre, repeat=int(wildcards.repeat)
    )
    write_record(record, snakemake.output[0])


run_logged(main, snakemake.log[0])
