"""Shared test helpers: repository paths, the real test data's location, tiny workflow
configs and a Snakemake runner, and what each rule of the workflow declares."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
CELLBENCH = SHARED_DATA / "cellbench_5cl_3plates.h5ad"
KANG = SHARED_DATA / "kang_pbmc_4samples.h5ad"


def tiny_dataset(n_cells: int = 400, n_genes: int = 400, seed: int = 1, **extra) -> dict:
    """Config entry of a small simulated dataset."""
    source = {"type": "simulated", "n_cells": n_cells, "n_genes": n_genes, "seed": seed, **extra}
    return {"source": source, "batch_key": "batch", "label_key": "cell_type", "n_hvg": 300}


# A registry entry (config/methods.yaml format) of the PCA baseline, for tests that
# register variants of it; the built-in `pca` entry is used as it is otherwise.
PCA_METHOD = {
    "runner": "python",
    "module": "claire.bench.methods.pca",
    "label": "PCA",
    "family": "baseline",
}
PCA_PARAMS = {"pca": {"n_comps": 20}}


def integration_path(dataset: str, method: str, repeat: int = 0, kind: str = "integration") -> str:
    """Relative path of a run's file: kind integration (.h5ad), metrics (.json), curve
    (.curve.csv), benchmark (.tsv), log (.log)."""
    folder, suffix = {
        "integration": ("integration", ".h5ad"),
        "metrics": ("metrics", ".json"),
        "curve": ("metrics", ".curve.csv"),
        "benchmark": ("benchmarks/integrate", ".tsv"),
        "log": ("logs/integrate", ".log"),
    }[kind]
    return f"results/{folder}/{dataset}/{method}/rep{repeat}{suffix}"


def run_claire_cli(*args: str | Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m claire ARGS`` from the repository root; the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "claire", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_snakemake(
    workdir: Path,
    config: dict,
    targets: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    cores: int = 2,
    timeout: int = 900,
    registry: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run the project's workflow with ``config`` in ``workdir``; return the finished process.

    ``registry`` (method name -> entry) is written to an extra method registry file that
    the config names (``method_registry``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if registry:
        registry_path = workdir / "methods.yaml"
        registry_path.write_text(yaml.safe_dump(registry, sort_keys=False))
        config = {**config, "method_registry": [str(registry_path)]}
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_path),
        "--cores",
        str(cores),
        *extra,
        *targets,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)


# Loads the workflow in a fresh interpreter (Snakemake changes directory and sets up logging)
# and prints, per rule: the env file(s) it runs in (per method where the env depends on the
# method), its script and the resources it declares.
_INTROSPECT = r"""
import json, sys
from pathlib import Path
from types import SimpleNamespace

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

snakefile, configfile = Path(sys.argv[1]), Path(sys.argv[2])
config = __import__("yaml").safe_load(configfile.read_text())
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    workflow_api = api.workflow(
        resource_settings=ResourceSettings(cores=1),
        config_settings=ConfigSettings(configfiles=[configfile]),
        snakefile=snakefile,
        workdir=Path.cwd(),
    )
    rules = {}
    for rule in workflow_api._workflow.rules:
        basedir = Path(str(rule.basedir))
        methods = list(config["methods"])
        envs = {}
        if callable(rule.conda_env):
            for method in methods:
                env = rule.conda_env(SimpleNamespace(method=method, dataset=None))
                envs[method] = str(env) if env else None
        elif rule.conda_env:
            envs[""] = str((basedir / rule.conda_env).resolve())
        rules[rule.name] = {
            "runs_code": bool(rule.script or rule.shellcmd or getattr(rule, "notebook", None)),
            "script": str((basedir / rule.script).resolve()) if rule.script else None,
            "envs": envs,
            "env_per_method": callable(rule.conda_env),
            "resources": sorted(k for k in rule.resources if not k.startswith("_")),
        }
print(json.dumps(rules))
"""


def python_json(code: str, *args: str, timeout: float = 600) -> Any:
    """Run ``code`` with ``args`` in a fresh Python (in the repository root); the JSON it
    printed on its last stdout line. Fails with the end of its stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@cache
def workflow_rules(configfile: Path) -> dict[str, dict]:
    """Rule name -> {runs_code, script, envs: {method or "": env}, env_per_method, resources}
    of the workflow run with ``configfile``."""
    return python_json(_INTROSPECT, str(ROOT / "Snakefile"), str(configfile), timeout=180)


def rules_declaring_threads() -> set[str]:
    """Rules with a ``threads:`` directive (Snakemake cannot tell 1 declared from 1 default)."""
    declared = set()
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        blocks = re.split(r"^(?=\S)", path.read_text(), flags=re.MULTILINE)
        for block in blocks:
            header = re.match(r"(?:local)?rule (\w+):", block)
            if header and re.search(r"^\s+threads:", block, flags=re.MULTILINE):
                declared.add(header.group(1))
            # the rules of the figure registry: `for _figure in FIGURE_SPECS.values():` with
            # one `rule:` named f"plot_{_figure.name}"
            if block.startswith("for _figure in FIGURE_SPECS") and re.search(
                r"^\s+threads:", block, flags=re.MULTILINE
            ):
                from claire.bench.registry.figures import load_figures

                declared |= {f"plot_{name}" for name in load_figures()}
    return declared
