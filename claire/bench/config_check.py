"""Everything about a run config that can be checked while the workflow is parsed, before
the first job: its layout and schema, the method names and parameter names (against the
registry and each adapter, see :mod:`claire.bench.methods.signature`), each local
dataset file (readable, obs columns present, no missing batch or label, two batches or
more; only ``obs`` is read) and the precomputed embeddings of each dataset.

Each check returns a list of problems, one line each, ``<key>: <what is wrong>``;
:class:`ConfigError` prints them all, each prefixed with the config file. Imports stay
light (PyYAML, jsonschema, h5py): the Snakefile runs this on every invocation.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from claire.bench.methods.signature import accepted_parameters
from claire.bench.registry.methods import MethodSpec, RegistryError, load_registry
from claire.bench.registry.migration import config_layout_problems
from claire.bench.registry.params import merged_params

EMBEDDING_SUFFIXES = (".h5ad", ".csv", ".tsv", ".npy")
_SHOWN = 200  # characters of a value quoted in a schema message


class ConfigError(ValueError):
    """A config with problems; the message lists them all, one line each."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        lines = "\n".join(f"{source}: {p}" for p in self.problems)
        super().__init__(f"the config has {count}; no job was started:\n{lines}")


def _key(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---- layout and schema ----------------------------------------------------------------------


def schema_problems(config: Mapping[str, Any], schema_path: str | os.PathLike) -> list[str]:
    """Old-layout keys and JSON-schema violations, each as ``<key>: <message> (schema: <rule>)``."""
    from jsonschema import Draft202012Validator

    layout = config_layout_problems(config)
    if layout:
        return layout
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.path))):
        message = error.message
        if len(message) > _SHOWN:
            message = message[:_SHOWN] + "..."
        problems.append(f"{_key(error.absolute_path)}: {message} (schema rule: {error.validator})")
    return problems


# ---- methods and their parameters -----------------------------------------------------------


def _registered(name: str, specs: Mapping[str, MethodSpec], key: str) -> list[str]:
    if name in specs:
        return []
    return [
        f"{key}: {name!r} is not a registered method{_suggest(name, specs)}; "
        f"registered: {', '.join(sorted(specs))}"
    ]


def _params_problems(
    block: Mapping[str, Any],
    specs: Mapping[str, MethodSpec],
    key: str,
    basedir: Path,
    suffix: str = "",
) -> list[str]:
    """Problems of one ``method_params`` block ({method: {param: value}}); lines name
    ``<key>.<method><suffix>.<param>``."""
    problems = []
    for method, params in (block or {}).items():
        where = f"{key}.{method}{suffix}"
        unknown = _registered(method, specs, where)
        if unknown:
            problems += unknown
            continue
        accepted = accepted_parameters(specs[method], basedir)
        if accepted is None or not isinstance(params, Mapping):
            continue
        for name in params:
            if name not in accepted:
                problems.append(
                    f"{where}.{name}: {method} has no parameter {name!r}"
                    f"{_suggest(name, accepted)}; its parameters: {', '.join(accepted)}"
                )
    return problems


def method_problems(
    config: Mapping[str, Any], specs: Mapping[str, MethodSpec], basedir: Path
) -> list[str]:
    """Method names wherever the config names one, and every parameter override's name."""
    problems = []
    methods = list(config["methods"])
    for i, name in enumerate(methods):
        problems += _registered(name, specs, f"methods[{i}]")
        if methods.index(name) != i:
            problems.append(f"methods[{i}]: {name!r} is listed twice")
    entries = {m: specs[m].params for m in dict.fromkeys(methods) if m in specs}
    problems += _params_problems(entries, specs, "method_registry", basedir, ".params")
    problems += _params_problems(config["method_params"], specs, "method_params", basedir)
    for dataset, spec in _all_datasets(config).items():
        key = "scaling.source" if dataset == "scaling.source" else f"datasets.{dataset}"
        problems += _params_problems(
            spec.get("method_params") or {}, specs, f"{key}.method_params", basedir
        )
    for i, name in enumerate(config["scaling"].get("methods") or []):
        problems += _registered(name, specs, f"scaling.methods[{i}]")
    for i, name in enumerate(config["report"].get("umap_epoch_methods") or []):
        problems += _registered(name, specs, f"report.umap_epoch_methods[{i}]")
    block = config["sensitivity"]
    if block["enabled"]:
        name = block["method"]
        problems += _registered(name, specs, "sensitivity.method")
        if name in specs and specs[name].runner != "claire":
            problems.append(f"sensitivity.method: {name!r} is not a runner-claire method")
        for i, dataset in enumerate(block.get("datasets") or []):
            if dataset not in config["datasets"]:
                problems.append(
                    f"sensitivity.datasets[{i}]: {dataset!r} is not a dataset of the config"
                    f"{_suggest(dataset, config['datasets'])}"
                )
    return problems


# ---- datasets --------------------------------------------------------------------------------


def dataset_available(spec: Mapping[str, Any]) -> bool:
    """False only for an optional local h5ad source whose file does not exist."""
    source = spec["source"]
    missing = source["type"] == "h5ad" and not Path(source["path"]).exists()
    return not (missing and source.get("optional", False))


def _all_datasets(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    datasets = dict(config["datasets"])
    source = config["scaling"].get("source")
    if source:
        datasets["scaling.source"] = source
    return datasets


def dataset_file_problems(name: str, spec: Mapping[str, Any], key: str) -> list[str]:
    """Problems of a local h5ad dataset, found by reading its ``obs`` only."""
    from claire.bench.h5ad_files import UnreadableFile, peek_obs

    source = spec["source"]
    if source["type"] != "h5ad" or not dataset_available(spec):
        return []
    path = Path(source["path"])
    if not path.exists():
        return [f"{key}.source.path: {path} does not exist"]
    batch, label, layer = spec["batch_key"], spec["label_key"], spec.get("counts_layer")
    try:
        peek = peek_obs(path, (batch, label))
    except UnreadableFile as error:
        return [f"{key}.source.path: {error}"]
    problems = []
    for column, role in ((batch, "batch_key"), (label, "label_key")):
        if column not in peek.columns:
            problems.append(
                f"{key}.{role}: {column!r} is not an obs column of {path}"
                f"{_suggest(column, peek.columns)}; obs columns: {', '.join(peek.columns)}"
            )
        elif peek.missing.get(column):
            problems.append(
                f"{key}.{role}: obs[{column!r}] of {path} has "
                f"{_plural(peek.missing[column], 'missing (NaN) value')}"
            )
    n_batches = peek.distinct.get(batch, 2)
    if n_batches < 2:
        problems.append(
            f"{key}.batch_key: obs[{batch!r}] of {path} has only {n_batches} batch "
            "value; integration needs at least two batches"
        )
    pseudotime = spec.get("pseudotime_key") or []
    for column in [pseudotime] if isinstance(pseudotime, str) else pseudotime:
        if column not in peek.columns:
            problems.append(
                f"{key}.pseudotime_key: {column!r} is not an obs column of {path}"
                f"{_suggest(column, peek.columns)}; obs columns: {', '.join(peek.columns)}"
            )
    if layer is not None and layer not in peek.layers:
        problems.append(
            f"{key}.counts_layer: {layer!r} is not a layer of {path}; "
            f"layers: {', '.join(peek.layers) or 'none'}"
        )
    return problems


def dataset_problems(config: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, spec in _all_datasets(config).items():
        key = "scaling.source" if name == "scaling.source" else f"datasets.{name}"
        problems += dataset_file_problems(name, spec, key)
    return problems


# ---- precomputed embeddings ------------------------------------------------------------------


def precomputed_problems(
    config: Mapping[str, Any], specs: Mapping[str, MethodSpec]
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the precomputed methods of the run: every dataset needs a
    file of a known type; a file that does not exist yet is a warning (the run records
    the method as failed, or stops with ``on_method_error: raise``)."""
    problems: list[str] = []
    warnings: list[str] = []
    datasets = {n: s for n, s in config["datasets"].items() if dataset_available(s)}
    for method in dict.fromkeys(config["methods"]):
        spec = specs.get(method)
        if spec is None or spec.runner != "precomputed":
            continue
        for dataset, dspec in datasets.items():
            params = merged_params(spec, config["method_params"], dspec["method_params"])
            files = params.get("files") or {}
            key = f"method_params.{method}.files.{dataset}"
            if dataset not in files:
                problems.append(
                    f"method_params.{method}.files: no embedding file for dataset {dataset!r} "
                    f"(files names {', '.join(sorted(files)) or 'none'})"
                )
                continue
            path = Path(str(files[dataset]))
            if path.suffix.lower() not in EMBEDDING_SUFFIXES:
                problems.append(
                    f"{key}: {path} has an unsupported type {path.suffix!r} "
                    f"({', '.join(EMBEDDING_SUFFIXES)})"
                )
            elif path.suffix.lower() == ".npy" and not params.get("cell_ids"):
                problems.append(f"{key}: a .npy embedding needs `cell_ids` (one id per line)")
            elif not path.exists():
                message = f"{key}: {path} does not exist"
                if config["on_method_error"] == "raise":
                    problems.append(message)
                else:
                    warnings.append(f"{message}; {method} will be recorded as failed on {dataset}")
    return problems, warnings


# ---- everything ------------------------------------------------------------------------------


def check_config(
    config: Mapping[str, Any], basedir: str | os.PathLike
) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a schema-valid config whose defaults are filled in."""
    basedir = Path(basedir)
    try:
        specs = load_registry(config["method_registry"])
    except RegistryError as error:
        return [f"method_registry: {error}"], []
    problems = method_problems(config, specs, basedir)
    problems += dataset_problems(config)
    precomputed, warnings = precomputed_problems(config, specs)
    return problems + precomputed, warnings
