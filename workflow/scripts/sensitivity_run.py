"""Snakemake adapter: one CLAIRE run of the sensitivity grid, scored -> JSON record."""

import json
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import anndata as ad  # noqa: E402
import torch  # noqa: E402

from claire.bench.io import write_text_atomic  # noqa: E402
from claire.bench.logs import run_logged  # noqa: E402
from claire.bench.metrics import MetricSettings  # noqa: E402
from claire.bench.sensitivity import parse_value  # noqa: E402
from claire.bench.sensitivity_run import sensitivity_record  # noqa: E402


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    param = snakemake.wildcards.param
    settings = MetricSettings.from_config(
        snakemake.params.metrics, seed=snakemake.params.seed, n_jobs=snakemake.threads
    )
    record = sensitivity_record(
        ad.read_h5ad(snakemake.input[0]),
        dataset=snakemake.wildcards.dataset,
        param=param,
        value=parse_value(param, snakemake.wildcards.value),
        base_params=snakemake.params.claire_params,
        seed=snakemake.params.seed,
        settings=settings,
    )
    write_text_atomic(json.dumps(record, indent=1), snakemake.output[0])


run_logged(main, snakemake.log[0])
