"""Shared helpers: the datasets, methods, runs and repeats of this run; named path patterns.

A *run* is what one integrate job computes: a registered method (config `methods`), or a
method with one parameter changed (the sensitivity grid, named
`<method>__<param>_<value>`), on one dataset and one repeat (seed = seed + repeat).
"""

import re
from pathlib import Path

from snakemake.logging import logger

from claire.bench import registry as reg

RESULTS = config["results"]
SEED = config["seed"]
REPEATS = config["repeats"]
RECORD_ERRORS = config["on_method_error"] == "record"
METRICS = config["metrics"]
METRICS_EXTENDED = METRICS["extended"]

# Named path patterns (wildcards dataset, method = run name, repeat).
PREPROCESSED = f"{RESULTS}/data/{{dataset}}/preprocessed.h5ad"
INTEGRATION = f"{RESULTS}/integration/{{dataset}}/{{method}}/rep{{repeat}}.h5ad"
METRICS_RECORD = f"{RESULTS}/metrics/{{dataset}}/{{method}}/rep{{repeat}}.json"
CURVE = f"{RESULTS}/metrics/{{dataset}}/{{method}}/rep{{repeat}}.curve.csv"
INTEGRATE_BENCHMARK = f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}/rep{{repeat}}.tsv"


def is_available(spec):
    """False only for an optional local h5ad source whose file does not exist."""
    source = spec["source"]
    missing = source["type"] == "h5ad" and not Path(source["path"]).exists()
    return not (missing and source["optional"])


def _available_datasets():
    datasets = {}
    for name, spec in config["datasets"].items():
        if is_available(spec):
            datasets[name] = spec
        else:
            logger.info(
                f"Dataset {name!r} skipped: optional file {spec['source']['path']} not found."
            )
    if not datasets:
        raise ValueError("No dataset of the config is available; nothing to do.")
    return datasets


DATASETS = _available_datasets()
REGISTRY = reg.load_registry(config["method_registry"])
METHODS = reg.resolve_methods(config["methods"], REGISTRY)


def _sensitivity_runs():
    """Run name -> (method, {param: value}) of the sensitivity grid (empty when off)."""
    block = config["sensitivity"]
    if not block["enabled"]:
        return {}
    method = block["method"]
    if method not in REGISTRY or REGISTRY[method].runner != "claire":
        raise ValueError(f"sensitivity.method {method!r} must be a registered runner-claire method")
    runs = {}
    for param in ("alpha", "knn", "eta"):
        for value in block[param]:
            value = int(value) if param == "knn" else float(value)
            runs[reg.run_name(method, param, value)] = (method, {param: value})
    return runs


SENSITIVITY_RUNS = _sensitivity_runs()
SENSITIVITY_DATASETS = config["sensitivity"]["datasets"] or list(DATASETS)
# Every run: the listed methods, then the grid points.
RUNS = {name: (name, {}) for name in METHODS} | SENSITIVITY_RUNS
# Display names (label-informed methods marked) and label use, for tables and figures.
METHOD_LABELS = {run: reg.display_name(run, REGISTRY) for run in RUNS}
LABEL_INFORMED = [run for run in METHODS if REGISTRY[run].uses_labels]


def spec_of(run):
    return REGISTRY[RUNS[run][0]]


def repeats_of(run):
    """Repeat indices of a run: one for a deterministic method or a grid point."""
    if run in SENSITIVITY_RUNS or spec_of(run).deterministic:
        return [0]
    return list(range(REPEATS))


def run_params(run, dataset):
    """The run's parameters on ``dataset`` (claire.bench.registry.merged_params)."""
    method, extra = RUNS[run]
    params = reg.merged_params(
        REGISTRY[method],
        config["method_params"],
        DATASETS[dataset]["method_params"],
        extra,
    )
    if REGISTRY[method].runner == "precomputed":
        files = params.pop("files", {}) or {}
        if dataset not in files:
            raise ValueError(
                f"precomputed method {method!r} has no file for dataset {dataset!r} "
                f"(params.files names {sorted(files)})"
            )
        params["file"] = files[dataset]
    return params


def run_targets(pattern, runs, datasets=None):
    """``pattern`` for every (dataset, run, repeat) of ``runs``."""
    return [
        pattern.format(dataset=dataset, method=run, repeat=repeat)
        for dataset in (datasets if datasets is not None else DATASETS)
        for run in runs
        for repeat in repeats_of(run)
    ]


def has_snapshots(run, dataset):
    """Whether the run keeps epoch snapshots (and so gets a training curve)."""
    return bool(run_params(run, dataset).get("snapshot_epochs"))


def alternatives(names):
    """Regex matching exactly one of ``names`` (or nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def run_env(wildcards):
    """Absolute path of the run's conda env file (None: no env declared)."""
    env = spec_of(wildcards.method).env
    return str(Path(workflow.basedir) / env) if env else None


def raw_inputs(wildcards):
    """Files the raw dataset is built from (none for simulated data)."""
    source = DATASETS[wildcards.dataset]["source"]
    if source["type"] == "h5ad":
        return {"h5ad": source["path"]}
    return {}


def preprocessed(wildcards):
    return PREPROCESSED.format(dataset=wildcards.dataset)


def final_outputs():
    """Every target of `rule all`, in one place."""
    targets = [
        *[PREPROCESSED.format(dataset=dataset) for dataset in DATASETS],
        *run_targets(INTEGRATION, METHODS),
        f"{RESULTS}/tables/raw_metrics.csv",
        f"{RESULTS}/tables/scores.csv",
        f"{RESULTS}/tables/summary.csv",
        f"{RESULTS}/tables/benchmark.md",
        f"{RESULTS}/tables/training_curves.csv",
        *report_outputs(),
    ]
    if SENSITIVITY_RUNS:
        targets += sensitivity_outputs()
    return targets


wildcard_constraints:
    dataset=alternatives(DATASETS),
    method=alternatives(RUNS),
    repeat=r"\d+",
