"""The conda environments (envs/*.yaml) are complete for a cluster user.

Every rule that runs code has a conda env file that exists (for the default and the paper
config, per method where the env depends on the method), every env is a well-formed conda
spec, and every package that the code run in an env imports (the rule's script, the claire
modules it reaches, the method's adapter or R script) is listed in that env.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from helpers.imports import imported_names, module_file
from helpers.workflow import ROOT, workflow_rules

from claire.bench.methods.runners import RUNNER_MODULES
from claire.bench.registry.methods import load_registry

ENVS = ROOT / "envs"
CONFIGS = [ROOT / "config" / name for name in ("config.yaml", "paper.yaml")]

# Import name -> conda/PyPI package names that provide it (default: the import name itself,
# with "_" read as "-").
PROVIDERS = {
    "sklearn": {"scikit-learn"},
    "yaml": {"pyyaml"},
    "igraph": {"python-igraph", "igraph"},
    "scvi": {"scvi-tools"},
    "torch": {"pytorch", "pytorch-gpu", "torch"},
    "umap": {"umap-learn"},
    "matplotlib": {"matplotlib", "matplotlib-base"},
    "mpl_toolkits": {"matplotlib", "matplotlib-base"},
    "PIL": {"pillow"},
    "dateutil": {"python-dateutil"},
    "community": {"python-louvain"},
    "tables": {"pytables", "tables"},
}
# Imported by name but provided by Snakemake itself (the `snakemake` object of scripts).
NOT_PACKAGES = {"snakemake", "claire"}


def load_env(path: Path) -> dict:
    spec = yaml.safe_load(path.read_text())
    assert isinstance(spec, dict), f"{path.name}: not a mapping"
    return spec


def package_name(requirement: str) -> str:
    """'conda-forge::pytorch>=2.2=*cuda*' -> 'pytorch'."""
    name = requirement.split("::")[-1].strip()
    return re.match(r"[A-Za-z0-9_.\-]+", name).group(0).lower()


def env_packages(path: Path) -> set[str]:
    """Every package an env file installs, conda and pip."""
    packages = set()
    for dep in load_env(path)["dependencies"]:
        if isinstance(dep, dict):
            packages |= {package_name(p) for p in dep.get("pip", [])}
        else:
            packages.add(package_name(dep))
    return packages


def is_provided(module: str, packages: set[str]) -> bool:
    names = PROVIDERS.get(module, {module.lower(), module.lower().replace("_", "-")})
    return bool(names & packages)


# ---------------------------------------------------------------- what code imports


def third_party_imports(*paths: Path) -> set[str]:
    """Top-level third-party modules imported by ``paths`` and the claire modules they reach."""
    todo, seen, found = list(paths), set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path, skip_lazy=True):
            top = name.split(".")[0]
            if top == "claire":
                parts = name.split(".")
                # the module itself and every package on its way (their __init__ runs too)
                for i in range(1, len(parts) + 1):
                    source = module_file(".".join(parts[:i]))
                    if source is not None:
                        todo.append(source)
            elif top not in sys.stdlib_module_names and top not in NOT_PACKAGES:
                found.add(top)
    return found


def r_libraries(script: Path) -> set[str]:
    text = script.read_text()
    calls = re.findall(r"(?:library|require|requireNamespace)\(\s*['\"]?([\w.]+)", text)
    qualified = re.findall(r"\b([A-Za-z][\w.]*)::", text)
    return set(calls) | set(qualified)


def code_of(rule: dict, method: str, config: dict) -> tuple[list[Path], list[Path]]:
    """(Python files, R files) that run in ``rule``'s env for ``method``."""
    python = [Path(rule["script"])] if rule["script"] and rule["script"].endswith(".py") else []
    r_files = [Path(rule["script"])] if rule["script"] and rule["script"].endswith(".R") else []
    if not method:
        return python, r_files
    spec = load_registry(config.get("method_registry", []))[method]
    module = spec.module or RUNNER_MODULES.get(spec.runner)
    if module:
        python.append(ROOT / module if module.endswith(".py") else module_file(module))
    if spec.script and spec.script.endswith(".R"):
        r_files.append(ROOT / spec.script)
    return python, r_files


# ---------------------------------------------------------------- tests


def env_files() -> list[Path]:
    return sorted(ENVS.glob("*.yaml"))


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_file_is_a_well_formed_conda_spec(path):
    spec = load_env(path)
    assert set(spec) <= {"name", "channels", "dependencies"}, f"{path.name}: unknown keys"
    assert "conda-forge" in spec.get("channels", []), f"{path.name}: needs conda-forge"
    deps = spec["dependencies"]
    assert isinstance(deps, list) and deps, f"{path.name}: no dependencies"
    python = [d for d in deps if isinstance(d, str) and package_name(d) == "python"]
    assert python and re.search(r"[=<>]", python[0]), f"{path.name}: pin python"
    for dep in deps:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"} and isinstance(dep["pip"], list), dep
            assert "pip" in {package_name(d) for d in deps if isinstance(d, str)}, (
                f"{path.name}: a pip section needs pip among the conda dependencies"
            )
        else:
            assert re.fullmatch(r"[\w:.\-]+(\s*[=<>!]=?\s*[\w.*]+)*(,[<>=!]=?[\w.*]+)*", dep), dep


def test_every_env_file_is_used_by_a_rule():
    used = set()
    for configfile in CONFIGS:
        if configfile.exists():
            for rule in workflow_rules(configfile).values():
                used |= {Path(env).resolve() for env in rule["envs"].values() if env}
    unused = [p.name for p in env_files() if p.resolve() not in used]
    # report.yaml may serve rules that only the report stage adds; everything else must run.
    assert not unused, f"env files no rule uses: {unused}"


@pytest.mark.parametrize("configfile", CONFIGS, ids=lambda p: p.name)
def test_every_rule_that_runs_code_has_an_existing_env(configfile):
    if not configfile.exists():
        pytest.skip(f"{configfile.name} not written yet")
    problems = []
    for name, rule in workflow_rules(configfile).items():
        if not rule["runs_code"] or (rule["env_per_method"] and not rule["envs"]):
            continue  # nothing to run, or no method of this config for the rule
        if not rule["envs"]:
            problems.append(f"rule {name}: no conda env")
        for method, env in rule["envs"].items():
            where = f"rule {name}" + (f" (method {method})" if method else "")
            if env is None:
                problems.append(f"{where}: the method declares no env")
            elif not Path(env).is_file():
                problems.append(f"{where}: {env} does not exist")
            elif Path(env).resolve().parent != ENVS.resolve():
                problems.append(f"{where}: {env} is not in envs/")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("configfile", CONFIGS, ids=lambda p: p.name)
def test_envs_list_every_package_the_code_imports(configfile):
    if not configfile.exists():
        pytest.skip(f"{configfile.name} not written yet")
    config = yaml.safe_load(configfile.read_text())
    problems = []
    for name, rule in workflow_rules(configfile).items():
        for method, env in rule["envs"].items():
            if not env or not Path(env).is_file():
                continue  # reported by the test above
            python, r_files = code_of(rule, method, config)
            packages = env_packages(Path(env))
            missing = sorted(
                m for m in third_party_imports(*python) if not is_provided(m, packages)
            )
            if r_files:
                if "r-base" not in packages:
                    missing.append("r-base")
                for lib in sorted(set().union(*(r_libraries(f) for f in r_files))):
                    names = {f"r-{lib.lower()}", f"bioconductor-{lib.lower()}"}
                    if lib not in {"base", "stats", "utils", "methods", "tools"} and not (
                        names & packages
                    ):
                        missing.append(f"r-{lib.lower()}")
            if missing:
                where = f"{name}" + (f"/{method}" if method else "")
                problems.append(f"{Path(env).name} ({where}) lacks: {', '.join(missing)}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_claire_env_brings_cuda_pytorch():
    path = ENVS / "claire.yaml"
    if not path.exists():
        pytest.skip("envs/claire.yaml not written yet")
    deps = [d for d in load_env(path)["dependencies"] if isinstance(d, str)]
    torch = [d for d in deps if package_name(d) in {"pytorch", "pytorch-gpu"}]
    assert torch, "the CLAIRE env must install PyTorch"
    # A CUDA build even when the env is created on a login node without a GPU driver
    # (conda-forge would otherwise pick the CPU build there).
    assert any(package_name(d) == "pytorch-gpu" or "cuda" in d for d in torch), torch


def test_import_scan_sees_lazy_and_relative_imports(tmp_path):
    """The scanner itself: function-level imports count, a lazy ``__getattr__`` does not."""
    probe = ROOT / "claire" / "bench" / "io.py"
    assert "anndata" in third_party_imports(probe)
    script = tmp_path / "script.py"
    script.write_text(
        "import os\nfrom claire.bench import io\n\ndef run():\n    import sklearn.decomposition\n"
    )
    found = third_party_imports(script)
    assert {"sklearn", "anndata"} <= found and "os" not in found and "torch" not in found
