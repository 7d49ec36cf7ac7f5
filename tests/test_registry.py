"""The method and metric registries: one place for each fact, checked and light to import."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from helpers.workflow import ROOT, python_json, run_snakemake, tiny_dataset

from claire.bench.registry import methods as reg
from claire.bench.registry import metrics as metric_reg
from claire.bench.registry.methods import RegistryError, load_registry, method_spec
from claire.bench.registry.migration import check_config_layout
from claire.bench.registry.params import merged_params

CONFIGS = [ROOT / "config" / name for name in ("config.yaml", "paper.yaml")]


def test_every_configured_method_is_registered_with_its_identity():
    specs = load_registry()
    for path in CONFIGS:
        config = yaml.safe_load(path.read_text())
        assert reg.resolve_methods(config["methods"], specs) == config["methods"]
        assert set(config.get("method_params", {})) <= set(specs), path.name
    for spec in specs.values():
        assert spec.family in reg.FAMILIES and spec.label
        if spec.runner != "precomputed" and spec.family != "baseline":
            assert spec.reference.startswith("https://doi.org/"), spec.name
        if spec.env:
            assert (ROOT / spec.env).is_file(), spec.env
        if spec.script:
            assert (ROOT / spec.script).is_file(), spec.script
    assert specs["claire"].gpu and not specs["harmony"].gpu
    assert specs["claire_var1"].base == "claire" and specs["claire_var1"].params == {
        "variant": "var1"
    }


def test_registry_entries_are_checked_with_the_method_named():
    with pytest.raises(RegistryError, match="'m'.*runner"):
        method_spec("m", {"runner": "julia"})
    with pytest.raises(RegistryError, match="'m'.*needs a module"):
        method_spec("m", {"runner": "python"})
    with pytest.raises(RegistryError, match="'m'.*unknown registry key"):
        method_spec("m", {"runner": "claire", "enabled": True})
    with pytest.raises(RegistryError, match="'m'.*family"):
        method_spec("m", {"runner": "claire", "family": "magic"})
    with pytest.raises(RegistryError, match=r"\['nope'\] are not in the method registry"):
        reg.resolve_methods(["claire", "nope"], load_registry())
    with pytest.raises(RegistryError, match="listed twice"):
        reg.resolve_methods(["claire", "claire"], load_registry())


def test_extra_registry_files_add_and_replace_entries(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        yaml.safe_dump(
            {
                "mine": {"runner": "python", "module": "x.y", "uses_labels": True, "label": "Mine"},
                "pca": {"runner": "python", "module": "my.pca", "label": "My PCA"},
            }
        )
    )
    specs = load_registry([extra])
    assert specs["mine"].display_name == "Mine" + reg.LABEL_USE_MARK
    assert specs["pca"].module == "my.pca" and "claire" in specs
    assert reg.display_name("mine", specs).endswith(reg.LABEL_USE_MARK)
    assert reg.display_name("claire__alpha_0.3", specs) == "CLAIRE (alpha=0.3)"
    assert reg.uses_labels("mine", specs) and not reg.uses_labels("claire", specs)


def test_params_are_layered_base_registry_config_dataset_grid():
    specs = load_registry()
    config = {"claire": {"epochs": 30, "eta": 0.7}, "claire_var1": {"eta": 0.9}}
    dataset = {"claire": {"refine_epoch": 2, "epochs": 60}}
    merged = merged_params(specs["claire_var1"], config, dataset, {"alpha": 0.3})
    # base config < base dataset < registry params < own config < own dataset < grid point
    assert merged == {"epochs": 60, "eta": 0.9, "refine_epoch": 2, "variant": "var1", "alpha": 0.3}
    assert merged_params(specs["harmony"], config, dataset) == {}


def test_old_config_layout_names_what_moved():
    old = {
        "datasets": {"d": {"claire": {"refine_epoch": 2}}},
        "methods": {"pca": {"runner": "python", "module": "claire.bench.methods.pca"}},
        "report": {"sensitivity": {"enabled": False}},
    }
    with pytest.raises(RegistryError) as err:
        check_config_layout(old)
    message = str(err.value)
    assert "config/methods.yaml" in message and "method_params" in message
    assert "datasets.d.claire moved to datasets.d.method_params.claire" in message
    assert "report.sensitivity moved" in message
    check_config_layout(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))


def test_workflow_refuses_an_old_config_and_an_unknown_method(tmp_path):
    old = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": {"pca": {"runner": "python", "module": "claire.bench.methods.pca"}},
    }
    proc = run_snakemake(tmp_path / "old", old, extra=("-n",))
    assert proc.returncode != 0 and "config/methods.yaml" in proc.stdout + proc.stderr
    unknown = {"datasets": {"tiny": tiny_dataset()}, "methods": ["pca", "no_such_method"]}
    proc = run_snakemake(tmp_path / "unknown", unknown, extra=("-n",))
    assert proc.returncode != 0
    assert "methods[1]: 'no_such_method' is not a registered method" in proc.stdout + proc.stderr


def test_metric_identity_is_derived_from_one_registry():
    assert metric_reg.SCORED_METRICS == (*metric_reg.BATCH_METRICS, *metric_reg.BIO_METRICS)
    assert set(metric_reg.BATCH_METRICS) == {"basw", "kbet"}
    assert set(metric_reg.BIO_METRICS) == {"ari", "nmi"}
    assert metric_reg.metric_label("kbet") == "kBET" and metric_reg.metric_label("f1") == "F1"
    assert set(metric_reg.CURVE_METRICS) <= set(metric_reg.CORE_METRICS)
    names = [m.name for m in metric_reg.METRICS]
    assert len(names) == len(set(names))


def test_registry_imports_nothing_heavy():
    code = (
        "import sys, claire.bench.registry, claire.bench.contract, claire.bench.experiments;"
        "import claire.bench.registry.gpu, claire.bench.registry.migration;"
        "import claire.bench.registry.params, claire.bench.experiments.scaling;"
        "import claire.bench.experiments.sensitivity;"
        "print([m for m in ('torch', 'numba', 'scanpy', 'igraph', 'louvain') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_registry_facade_reaches_every_split_module_live():
    """Plug-ins written against the single module keep working: ``claire.bench.registry.X``
    reaches the names of the split modules, and names derived from METRICS follow a metric
    registered later (the lookup is live, not a copy taken at import)."""
    code = """
import json
from claire.bench import registry
from claire.bench.registry import gpu, methods, metrics, migration, params
from claire.bench.experiments import sensitivity
assert registry.Metric is metrics.Metric and registry.MethodSpec is methods.MethodSpec
assert registry.merged_params is params.merged_params
assert registry.check_config_layout is migration.check_config_layout
assert registry.gpu_methods is gpu.gpu_methods and registry.run_name is sensitivity.run_name
assert registry.registry is methods.registry and registry.metrics is metrics
before = registry.BIO_METRICS
registry.register_metric(registry.Metric("toy", "bio", "toy", in_score=True, function="m:f"))
print(json.dumps([before, registry.BIO_METRICS, metrics.BIO_METRICS]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    before, facade, module = json.loads(done.stdout)
    assert before == ["ari", "nmi"] and facade == module == ["ari", "nmi", "toy"]
    with pytest.raises(AttributeError):
        from claire.bench import registry

        _ = registry.no_such_name


def test_a_plugin_metric_is_computed_and_enters_the_scores():
    """The README's worked example of adding a metric: one file (tests/plugins/toy_metric.py)
    plus one registry entry (here added with register_metric before anything else runs)."""
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from claire.bench import registry
registry.register_metric(registry.Metric(
    "cross_batch", "batch", "cross-batch kNN", in_score=True,
    function="plugins.toy_metric:cross_batch_share"))
import numpy as np
from claire.bench.metrics import MetricSettings, compute_all
rng = np.random.default_rng(0)
emb = rng.normal(size=(300, 8)).astype("float32")
batches = np.repeat(["a", "b"], 150); labels = np.tile(["x", "y", "z"], 100)
values = compute_all(emb, batches, labels, MetricSettings(resolutions=(1.0,)))
print(json.dumps({{"value": values["cross_batch"], "batch": list(registry.BATCH_METRICS)}}))
"""
    out = python_json(code)
    # random points, two equal batches: about half of each cell's neighbours are from the other
    assert out["value"] == pytest.approx(0.5, abs=0.06)
    assert out["batch"] == ["basw", "kbet", "cross_batch"]
    assert np.isfinite(out["value"])


def test_a_config_metric_module_feeds_the_one_frozen_registry():
    """A module of the config's ``metrics.modules`` (here the toy plug-in's ``METRICS``) is
    loaded once into the registry that compute_all and the tables read; the registry itself
    is immutable (a new one replaces it, nothing copied at import goes stale)."""
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from claire.bench.tables.scores import raw_columns, score_columns
from claire.bench.registry.metrics import load_config_metrics, metric_registry
before = metric_registry()
config = {{"metrics": {{"modules": ["plugins.toy_metric"]}}}}
load_config_metrics(config)
registry = load_config_metrics(config)
import numpy as np
from claire.bench.metrics import MetricSettings, compute_all
rng = np.random.default_rng(0)
emb = rng.normal(size=(300, 8)).astype("float32")
batches = np.repeat(["a", "b"], 150); labels = np.tile(["x", "y", "z"], 100)
values = compute_all(emb, batches, labels, MetricSettings(resolutions=(1.0,)))
try:
    registry.by_name["x"] = None
    frozen = False
except TypeError:
    frozen = True
print(json.dumps({{
    "names": [m.name for m in registry.metrics], "before": len(before.metrics),
    "value": values["cross_batch"], "raw": raw_columns(False), "scores": score_columns(),
    "frozen": frozen, "same": registry is metric_registry(),
}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["names"].count("cross_batch") == 1 and out["names"][-1] == "cross_batch"
    assert out["before"] == len(out["names"]) - 1 and out["frozen"] and out["same"]
    assert out["value"] == pytest.approx(0.5, abs=0.06)
    assert out["raw"][-2:] == ["cross_batch", "best_resolution"]
    assert "cross_batch_scaled" in out["scores"]


@pytest.mark.parametrize("config_name", ["config.yaml", "paper.yaml"])
def test_config_parameters_are_accepted_by_the_adapters(config_name):
    """Every parameter a config sets (globally or per dataset) is an argument of the method's
    adapter: a typo fails here, not after hours of a paper run."""
    import dataclasses
    import importlib
    import inspect

    from claire.params import ClaireParams

    config = yaml.safe_load((ROOT / "config" / config_name).read_text())
    specs = load_registry()
    problems = []
    for method in config["methods"]:
        spec = specs[method]
        overrides = [config.get("method_params", {})]
        overrides += [d.get("method_params", {}) for d in config["datasets"].values()]
        for dataset_params in overrides[1:] or [{}]:
            params = merged_params(spec, overrides[0], dataset_params)
            if spec.runner == "claire":
                known = set(ClaireParams.__dataclass_fields__) | {"preset"}
            elif spec.runner == "python":
                module = importlib.import_module(spec.module)
                declared = getattr(module, "PARAMETERS", ())  # names, or a settings dataclass
                if dataclasses.is_dataclass(declared):
                    declared = [f.name for f in dataclasses.fields(declared)]
                known = set(inspect.signature(module.run).parameters) | set(declared)
            else:
                continue
            problems += [f"{method}: {key}" for key in params if key not in known]
    assert not problems, sorted(set(problems))
