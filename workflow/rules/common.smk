"""Shared helpers: the datasets and methods of this run, paths, per-method settings."""

import re
from pathlib import Path

from snakemake.logging import logger

RESULTS = config["results"]
SEED = config["seed"]
RECORD_ERRORS = config["on_method_error"] == "record"

# Every stage file extends this list; `rule all` requests all of it.
ALL_TARGETS = []


def is_available(spec):
    """False only for an optional local h5ad source whose file does not exist."""
    source = spec["source"]
    missing = source["type"] == "h5ad" and not Path(source["path"]).exists()
    return not (missing and source.get("optional", False))


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
METHODS = {
    name: spec for name, spec in config["methods"].items() if spec.get("enabled", True)
}


def alternatives(names):
    """Regex matching exactly one of ``names`` (or nothing when empty)."""
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def methods_by_runner(runner):
    """Enabled methods run by ``runner`` (python, rscript or claire)."""
    return [name for name, spec in METHODS.items() if spec["runner"] == runner]


def method_env(wildcards):
    """Absolute path of the method's conda env file (None: no env declared)."""
    env = METHODS[wildcards.method].get("env")
    return str(Path(workflow.basedir) / env) if env else None


def method_threads(wildcards):
    return METHODS[wildcards.method].get("threads", 2)


def method_resource(key, default):
    """Resource callable reading methods.<name>.resources.<key>, else ``default``."""

    def resource(wildcards):
        return METHODS[wildcards.method].get("resources", {}).get(key, default)

    return resource


def raw_inputs(wildcards):
    """Files the raw dataset is built from (none for simulated data)."""
    source = DATASETS[wildcards.dataset]["source"]
    if source["type"] == "h5ad":
        return {"h5ad": source["path"]}
    return {}


def preprocessed(wildcards):
    return f"{RESULTS}/data/{wildcards.dataset}/preprocessed.h5ad"


wildcard_constraints:
    dataset=alternatives(DATASETS),
