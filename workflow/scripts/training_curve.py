"""Snakemake adapter: metrics of every embedding snapshot -> {dataset}/{method}/rep{r}.curve.csv."""

import json
from pathlib import Path

import anndata as ad

from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.metrics import MetricSettings
from claire.bench.metrics.evaluate import training_curve
from claire.bench.registry.metrics import load_config_metrics


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    settings = MetricSettings.from_config(
        snakemake.params.metrics, seed=snakemake.params.seed, n_jobs=snakemake.threads
    )
    final = json.loads(Path(snakemake.input.record).read_text())
    curve = training_curve(ad.read_h5ad(snakemake.input.integration), settings, final)
    write_text_atomic(curve.to_csv(index=False), snakemake.output[0])


run_logged(main, snakemake.log[0])
