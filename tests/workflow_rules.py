"""What each rule of the workflow declares, read from Snakemake itself (no DAG, no jobs).

Used by the env checks (test_envs.py) and the cluster checks (test_slurm.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from conftest import ROOT

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


@cache
def workflow_rules(configfile: Path) -> dict[str, dict]:
    """Rule name -> {runs_code, script, envs: {method or "": env}, env_per_method, resources}
    of the workflow run with ``configfile``."""
    proc = subprocess.run(
        [sys.executable, "-c", _INTROSPECT, str(ROOT / "Snakefile"), str(configfile)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rules_declaring_threads() -> set[str]:
    """Rules with a ``threads:`` directive (Snakemake cannot tell 1 declared from 1 default)."""
    declared = set()
    for path in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        blocks = re.split(r"^(?=\S)", path.read_text(), flags=re.MULTILINE)
        for block in blocks:
            header = re.match(r"(?:local)?rule (\w+):", block)
            if header and re.search(r"^\s+threads:", block, flags=re.MULTILINE):
                declared.add(header.group(1))
    return declared
