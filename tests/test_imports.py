"""Workflow jobs import only what they need (issue 24: Python start-up is a third of the run).

Each check runs in a fresh interpreter, as a Snakemake job does: a table, plot or report
job never loads scanpy or torch; a metrics job never loads torch or umap (its kNN graph
is :mod:`claire.bench.metrics.knn_graph`), nor scanpy unless it scores trajectory
conservation (``sc.tl.dpt``); PCA, Harmony and ComBat never load torch. A top-level
import added to any module on these paths fails here.
"""

from __future__ import annotations

import ast
import json

import pytest
from helpers.workflow import ROOT, python_json

SCRIPTS = ROOT / "workflow" / "scripts"
# Jobs that compute with scanpy (preprocessing, scanpy's UMAP) or run a method.
HEAVY_JOBS = {"preprocess.py", "integrate.py", "plot_umap.py", "plot_umap_epochs.py"}
METRIC_JOBS = {"compute_metrics.py", "training_curve.py"}
REPORT_JOBS = sorted(p.name for p in SCRIPTS.glob("*.py") if p.name not in HEAVY_JOBS | METRIC_JOBS)

# Runs the snippets one after another in one interpreter; after each one, prints which
# of the watched modules are loaded (the first snippet that loads one is the culprit).
_PROBE = r"""
import json, sys
snippets, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
loaded = {}
for name, code in snippets:
    exec(compile(code, name, "exec"), {"__name__": "probe"})
    loaded[name] = [m for m in watched if m in sys.modules]
print(json.dumps(loaded))
"""


def top_level_imports(script: str) -> str:
    """The import statements at the top level of a workflow script (not its main)."""
    tree = ast.parse((SCRIPTS / script).read_text())
    return "\n".join(
        ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
    )


def loaded_after(snippets: list[tuple[str, str]], watched: list[str]) -> dict[str, list[str]]:
    return python_json(_PROBE, json.dumps(snippets), json.dumps(watched))


def first_offender(loaded: dict[str, list[str]]) -> tuple[str, list[str]] | None:
    for name, modules in loaded.items():
        if modules:
            return name, modules
    return None


def test_the_script_lists_cover_the_workflow():
    assert {"aggregate_metrics.py", "format_table.py", "plot_figure.py"} <= set(REPORT_JOBS)
    assert all((SCRIPTS / name).exists() for name in HEAVY_JOBS | METRIC_JOBS)


def test_table_plot_and_report_jobs_load_neither_scanpy_nor_torch():
    snippets = [(name, top_level_imports(name)) for name in REPORT_JOBS]
    assert first_offender(loaded_after(snippets, ["torch", "scanpy", "umap"])) is None


def test_plot_scripts_are_seen_loading_scanpy_when_they_do():
    """The probe works: the UMAP figure's script does reach scanpy when it computes."""
    code = "from claire.bench.plots import compute_umap\nimport numpy as np\n"
    code += "compute_umap(np.random.default_rng(0).normal(size=(40, 3)), seed=0)"
    assert first_offender(loaded_after([("umap", code)], ["scanpy"])) == ("umap", ["scanpy"])


METRICS_RUN = """
import numpy as np
from claire.bench.metrics import MetricSettings, compute_all
rng = np.random.default_rng(0)
emb = rng.normal(size=(300, 8))
values = compute_all(emb, rng.integers(0, 2, 300), rng.integers(0, 3, 300),
                     settings=MetricSettings(resolutions=(0.5, 1.0)))
assert set(values) >= {"basw", "kbet", "nmi", "ari"}
"""


def test_metric_jobs_load_neither_torch_nor_scanpy_nor_umap():
    snippets = [(name, top_level_imports(name)) for name in sorted(METRIC_JOBS)]
    snippets.append(("compute_all", METRICS_RUN))
    loaded = loaded_after(snippets, ["torch", "scanpy", "umap", "pynndescent"])
    assert first_offender(loaded) is None


@pytest.mark.parametrize("method", ["pca", "harmony", "combat"])
def test_classical_integrations_never_load_torch(method):
    run = f"""
import numpy as np, anndata as ad, pandas as pd
from claire.bench.methods.runners import adapter_for
adapter = adapter_for("python", "claire.bench.methods.{method}")
rng = np.random.default_rng(0)
adata = ad.AnnData(rng.poisson(1.0, size=(120, 40)).astype(np.float32),
                   obs=pd.DataFrame({{"batch": np.repeat(["a", "b"], 60)}}))
adata.obs.index = adata.obs.index.astype(str)
emb = adapter(adata, batch_key="batch", seed=0, n_comps=10)
"""
    snippets = [("integrate.py", top_level_imports("integrate.py")), (method, run)]
    assert first_offender(loaded_after(snippets, ["torch", "lightning"])) is None
