"""Shared helpers: the datasets, methods, runs and repeats of this run; named path patterns.

A *run* is what one integrate job computes: a registered method (config `methods`), or a
method with one parameter changed (the sensitivity grid, named
`<method>__<param>_<value>`), on one dataset and one repeat (seed = seed + repeat).
"""

import re
from pathlib import Path

from snakemake.logging import logger

from claire.bench.config_check import dataset_available
from claire.bench.experiments import scaling as scaling_experiment
from claire.bench.experiments.sensitivity import sensitivity_runs
from claire.bench.registry import methods as reg
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.registry.params import merged_params
from claire.bench.methods.signature import code_files

RESULTS = config["results"]
SEED = config["seed"]
REPEATS = config["repeats"]
RECORD_ERRORS = config["on_method_error"] == "record"
METRICS = config["metrics"]
METRICS_EXTENDED = METRICS["extended"]
# Plug-in metric modules of the config: their labels reach captions and the report.
load_config_metrics(config)

# Named path patterns (wildcards dataset, method = run name, repeat).
PREPROCESSED = f"{RESULTS}/data/{{dataset}}/preprocessed.h5ad"
INTEGRATION = f"{RESULTS}/integration/{{dataset}}/{{method}}/rep{{repeat}}.h5ad"
METRICS_RECORD = f"{RESULTS}/metrics/{{dataset}}/{{method}}/rep{{repeat}}.json"
CURVE = f"{RESULTS}/metrics/{{dataset}}/{{method}}/rep{{repeat}}.curve.csv"
INTEGRATE_BENCHMARK = (
    f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}/rep{{repeat}}.tsv"
)


def _available_datasets():
    datasets = {}
    for name, spec in config["datasets"].items():
        if dataset_available(spec):
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


SCALING = config["scaling"]
_SCALING_ALL = scaling_experiment.scaling_datasets(SCALING, RESULTS)
SCALING_DATASETS = scaling_experiment.sized_datasets(_SCALING_ALL)
ALL_DATASETS = DATASETS | _SCALING_ALL
SCALING_METHODS = reg.resolve_methods(SCALING["methods"] or METHODS, REGISTRY)
SENSITIVITY_RUNS = sensitivity_runs(config["sensitivity"], REGISTRY)
SENSITIVITY_DATASETS = config["sensitivity"]["datasets"] or list(DATASETS)
# Every run: the listed methods, then the grid points.
RUNS = {name: (name, {}) for name in [*METHODS, *SCALING_METHODS]} | SENSITIVITY_RUNS
# Display names (label-informed methods marked) and label use, for tables and figures.
METHOD_LABELS = {run: reg.display_name(run, REGISTRY) for run in RUNS}
LABEL_INFORMED = [run for run in METHODS if REGISTRY[run].uses_labels]
# Control methods (family control): out of the paper's F1 min-max; with the unintegrated
# baseline they bound the control-scaled scores.
CONTROL_METHODS = [run for run in METHODS if REGISTRY[run].family == reg.CONTROL_FAMILY]
PAPER_METHODS = [run for run in METHODS if run not in CONTROL_METHODS]
SCALING_CONTROLS = CONTROL_METHODS + [
    run for run in METHODS if REGISTRY[run].family == reg.NO_INTEGRATION_FAMILY
]


def spec_of(run):
    return REGISTRY[RUNS[run][0]]


def repeats_of(run, dataset=None):
    """Repeat indices of a run: one for a deterministic method or a grid point; the
    scaling experiment has its own number of repeats."""
    if run in SENSITIVITY_RUNS or spec_of(run).deterministic:
        return [0]
    if dataset in SCALING_DATASETS:
        return list(range(SCALING["repeats"]))
    return list(range(REPEATS))


def run_params(run, dataset):
    """The run's parameters on ``dataset`` (claire.bench.registry.params.merged_params)."""
    method, extra = RUNS[run]
    params = merged_params(
        REGISTRY[method],
        config["method_params"],
        ALL_DATASETS[dataset]["method_params"],
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
        for repeat in repeats_of(run, dataset)
    ]


def has_snapshots(run, dataset):
    """Whether the run keeps epoch snapshots (and so gets a training curve)."""
    return bool(run_params(run, dataset).get("snapshot_epochs"))


def integrate_extra_inputs(wildcards):
    """Files a run reads besides the preprocessed data: its code (adapter module or plug-in
    file, R script; CLAIRE's core), so that editing it reruns the method and what depends
    on it; a precomputed embedding (once it exists: a missing one is a failed run); in the
    scaling experiment, the same run on the next smaller size (`previous`)."""
    spec = spec_of(wildcards.method)
    extra = {}
    if spec.runner == "rscript":
        extra["script"] = str(Path(workflow.basedir) / spec.script)
    else:
        extra["code"] = code_files(spec, Path(workflow.basedir))
    if spec.runner == "precomputed":
        embedding = run_params(wildcards.method, wildcards.dataset)["file"]
        if Path(embedding).exists():
            extra["embedding"] = embedding
    smaller = smaller_scaling_dataset(wildcards.dataset)
    if smaller is not None:
        extra["previous"] = INTEGRATION.format(
            dataset=smaller, method=wildcards.method, repeat=wildcards.repeat
        )
    return extra


def smaller_scaling_dataset(dataset):
    """The scaling dataset one size below ``dataset`` (None: smallest, or not scaling)."""
    return scaling_experiment.smaller_dataset(list(SCALING_DATASETS), dataset)


def run_budget(wildcards):
    """The scaling experiment's time and memory budget of a run ({} elsewhere)."""
    if wildcards.dataset not in SCALING_DATASETS:
        return {}
    return scaling_experiment.run_budget(SCALING)


def run_runtime(wildcards, attempt):
    """Minutes: the method's registry runtime; in the scaling experiment, its budget too."""
    minutes = spec_of(wildcards.method).runtime * attempt
    if wildcards.dataset in SCALING_DATASETS:
        minutes = scaling_experiment.budget_runtime(minutes, SCALING)
    return minutes


def alternatives(names):
    """Regex matching exactly one of ``names`` (or nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def run_env(wildcards):
    """Absolute path of the run's conda env file (None: no env declared)."""
    env = spec_of(wildcards.method).env
    return str(Path(workflow.basedir) / env) if env else None


def raw_inputs(wildcards):
    """Files the raw dataset is built from (none for simulated data)."""
    source = ALL_DATASETS[wildcards.dataset]["source"]
    if source["type"] == "h5ad":
        return {"h5ad": source["path"]}
    return {}


def preprocessed(wildcards):
    return PREPROCESSED.format(dataset=wildcards.dataset)


def pseudotime_key(dataset):
    """The dataset's true-pseudotime obs column(s) (one per lineage), or None."""
    return ALL_DATASETS[dataset].get("pseudotime_key")


def metrics_preprocessed(wildcards):
    """The preprocessed data, when the metrics need it: PCR (extended) or the true pseudotime."""
    if METRICS_EXTENDED or pseudotime_key(wildcards.dataset):
        return preprocessed(wildcards)
    return []


wildcard_constraints:
    dataset=alternatives(ALL_DATASETS),
    method=alternatives(RUNS),
    repeat=r"\d+",
