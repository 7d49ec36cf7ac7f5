"""Everything checkable is checked while the workflow is parsed (issue 25 item 1): method
and parameter names (valid ones listed), local dataset files (obs only), precomputed
files; all problems at once, one line each naming the config file and key; no job runs."""

from __future__ import annotations

import copy
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from helpers.workflow import ROOT, run_snakemake, tiny_dataset

from claire.bench.config_check import ConfigError, check_config, schema_problems
from claire.bench.h5ad_files import UnreadableFile, peek_obs
from claire.bench.methods.signature import accepted_parameters, r_script_parameters
from claire.bench.registry.methods import registry

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def filled(config: dict) -> dict:
    """``config`` with the schema's defaults, as the Snakefile sees it after validate()."""
    from snakemake.utils import validate

    config = copy.deepcopy(config)
    validate(config, str(SCHEMA))
    return config


def write_h5ad(path: Path, n: int = 60, labels=None, batches=None) -> Path:
    rng = np.random.default_rng(0)
    adata = ad.AnnData(sp.csr_matrix(rng.poisson(1.0, (n, 20)).astype(np.float32)))
    adata.obs_names = [f"c{i}" for i in range(n)]
    adata.obs["batch"] = batches if batches is not None else np.repeat(["a", "b"], n // 2)
    adata.obs["ct"] = labels if labels is not None else np.tile(["x", "y", "z"], n // 3)
    adata.write_h5ad(path)
    return path


def h5ad_dataset(path: Path, **extra) -> dict:
    return {
        "source": {"type": "h5ad", "path": str(path)},
        "batch_key": "batch",
        "label_key": "ct",
        **extra,
    }


def test_adapter_parameters_are_read_without_importing():
    specs = registry()
    assert accepted_parameters(specs["harmony"])[:2] == ("n_comps", "theta")
    assert "preset" in accepted_parameters(specs["claire"])
    assert "seed" not in accepted_parameters(specs["claire"])
    assert accepted_parameters(specs["seurat"]) == (
        "dims", "npcs", "k_anchor", "k_filter", "k_score", "k_weight",
    )  # fmt: skip
    assert r_script_parameters(ROOT / "tests" / "plugins" / "toy_method.R") == ("n_comps",)


def test_a_settings_dataclass_named_by_parameters_declares_them():
    from dataclasses import fields

    from claire.bench.competitors import mat2, smile

    specs = registry()
    for name, settings in (("smile", smile.SmileSettings), ("mat2", mat2.Mat2Settings)):
        assert accepted_parameters(specs[name]) == tuple(f.name for f in fields(settings))
    config = filled(
        {
            "datasets": {"tiny": tiny_dataset()},
            "methods": ["smile"],
            "method_params": {"smile": {"epoch": 3, "lr": 0.1}},
        }
    )
    (problem,) = check_config(config, ROOT)[0]
    assert problem.startswith(
        "method_params.smile.epoch: smile has no parameter 'epoch' (did you mean 'epochs'?)"
    )


def test_misspelled_methods_and_parameters_are_listed_with_the_valid_names():
    config = filled(
        {
            "datasets": {"tiny": {**tiny_dataset(), "method_params": {"harmny": {"theta": 1}}}},
            "methods": ["pca", "harmny"],
            "method_params": {"harmony": {"thetaa": 2}, "pca": {"n_comps": 10}},
        }
    )
    problems, warnings = check_config(config, ROOT)
    assert problems == [
        "methods[1]: 'harmny' is not a registered method (did you mean 'harmony'?); "
        f"registered: {', '.join(sorted(registry()))}",
        "method_params.harmony.thetaa: harmony has no parameter 'thetaa' (did you mean "
        "'theta'?); its parameters: n_comps, theta, sigma, max_iter_harmony, ncores, threads",
        "datasets.tiny.method_params.harmny: 'harmny' is not a registered method (did you "
        f"mean 'harmony'?); registered: {', '.join(sorted(registry()))}",
    ]
    assert warnings == []
    message = str(ConfigError("my.yaml", problems))
    assert message.startswith("the config has 3 problems; no job was started:\nmy.yaml: methods[1]")


def test_dataset_files_are_checked_from_obs(tmp_path):
    good = write_h5ad(tmp_path / "good.h5ad")
    nan = write_h5ad(tmp_path / "nan.h5ad", labels=["x", None, "y"] * 20)
    one = write_h5ad(tmp_path / "one.h5ad", batches=["a"] * 60)
    truncated = tmp_path / "truncated.h5ad"
    truncated.write_bytes(good.read_bytes()[:3000])
    text = tmp_path / "text.h5ad"
    text.write_text("cell,batch\n")
    config = filled(
        {
            "datasets": {
                "good": h5ad_dataset(good),
                "nan": h5ad_dataset(nan),
                "one": h5ad_dataset(one),
                "nolabel": h5ad_dataset(
                    good, label_key="celltype", counts_layer="counts", pseudotime_key=["ct", "pt"]
                ),
                "truncated": h5ad_dataset(truncated),
                "text": h5ad_dataset(text),
                "absent": h5ad_dataset(tmp_path / "absent.h5ad"),
                "optional": {
                    **h5ad_dataset(tmp_path / "absent.h5ad"),
                    "source": {"type": "h5ad", "path": "x.h5ad", "optional": True},
                },
            },
            "methods": ["pca"],
        }
    )
    problems, _ = check_config(config, ROOT)
    assert problems == [
        f"datasets.nan.label_key: obs['ct'] of {nan} has 20 missing (NaN) values",
        f"datasets.one.batch_key: obs['batch'] of {one} has only 1 batch value; integration "
        "needs at least two batches",
        f"datasets.nolabel.label_key: 'celltype' is not an obs column of {good}; "
        "obs columns: batch, ct",
        f"datasets.nolabel.pseudotime_key: 'pt' is not an obs column of {good}; "
        "obs columns: batch, ct",
        f"datasets.nolabel.counts_layer: 'counts' is not a layer of {good}; layers: none",
        f"datasets.truncated.source.path: {truncated}: cannot be read: the file is truncated "
        "(an incomplete copy or download?)",
        f"datasets.text.source.path: {text}: cannot be read: it is not an h5ad file (not HDF5)",
        f"datasets.absent.source.path: {tmp_path / 'absent.h5ad'} does not exist",
    ]


def test_peek_reads_numeric_and_categorical_columns(tmp_path):
    path = write_h5ad(tmp_path / "x.h5ad", labels=[1.0, np.nan, 2.0] * 20)
    peek = peek_obs(path, ("batch", "ct"))
    assert (peek.n_obs, peek.missing, peek.distinct) == (
        60,
        {"batch": 0, "ct": 20},
        {"batch": 2, "ct": 2},
    )
    with pytest.raises(UnreadableFile, match="does not exist|cannot be read"):
        peek_obs(tmp_path / "none.h5ad")


def test_precomputed_files_every_dataset_needs_one(tmp_path):
    emb = tmp_path / "tiny.csv"
    emb.write_text("cell,d0\n")
    entry = {"runner": "precomputed", "label": "Mine", "family": "external"}
    reg_file = tmp_path / "methods.yaml"
    reg_file.write_text(yaml.safe_dump({"mine": entry}))
    config = {
        "datasets": {"tiny": tiny_dataset(), "other": tiny_dataset(seed=2)},
        "methods": ["mine"],
        "method_registry": [str(reg_file)],
        "method_params": {"mine": {"files": {"tiny": str(tmp_path / "absent.csv")}}},
    }
    problems, warnings = check_config(filled(config), ROOT)
    assert problems == [
        "method_params.mine.files: no embedding file for dataset 'other' (files names tiny)"
    ]
    assert warnings == [
        f"method_params.mine.files.tiny: {tmp_path / 'absent.csv'} does not exist; "
        "mine will be recorded as failed on tiny"
    ]
    config["on_method_error"] = "raise"
    problems, _ = check_config(filled(config), ROOT)
    assert len(problems) == 2 and "absent.csv does not exist" in problems[0]


def test_schema_problems_name_the_key_and_the_rule_not_the_schema():
    config = {
        "datasets": {"tiny": {k: v for k, v in tiny_dataset().items() if k != "batch_key"}},
        "methods": ["pca"],
        "on_method_error": "ignore",
    }
    assert schema_problems(config, SCHEMA) == [
        "datasets.tiny: 'batch_key' is a required property (schema rule: required)",
        "on_method_error: 'ignore' is not one of ['record', 'raise'] (schema rule: enum)",
    ]


def test_workflow_reports_every_problem_before_any_job(tmp_path):
    """Two datasets, one good and one with NaN labels, a misspelled method and parameter:
    one error listing all four, exit code 1, nothing computed (not even the good one)."""
    bad = write_h5ad(tmp_path / "bad.h5ad", labels=["x", None, "y"] * 20)
    config = {
        "datasets": {"good": tiny_dataset(), "bad": h5ad_dataset(bad)},
        "methods": ["pca", "harmny"],
        "method_params": {"pca": {"n_comps": 10, "ncomps": 5}},
    }
    proc = run_snakemake(tmp_path / "run", config)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    source = tmp_path / "run" / "config.yaml"
    assert "the config has 3 problems; no job was started" in output
    assert f"{source}: methods[1]: 'harmny' is not a registered method" in output
    assert (
        f"{source}: method_params.pca.ncomps: pca has no parameter 'ncomps' (did you mean "
        "'n_comps'?); its parameters: n_comps"
    ) in output
    assert f"{source}: datasets.bad.label_key: obs['ct'] of {bad} has 20 missing" in output
    assert not (tmp_path / "run" / "results").exists()
    assert "Traceback" not in output and "properties:" not in output


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml"])
def test_the_shipped_configs_have_no_problem(name):
    config = filled(yaml.safe_load((ROOT / "config" / name).read_text()))
    assert schema_problems(config, SCHEMA) == []
    assert check_config(config, ROOT)[0] == []


def test_a_registry_entrys_own_params_are_checked(tmp_path):
    reg_file = tmp_path / "methods.yaml"
    entry = {"runner": "python", "module": "claire.bench.methods.pca", "params": {"ncomp": 5}}
    reg_file.write_text(yaml.safe_dump({"mypca": entry}))
    config = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["mypca"],
        "method_registry": [str(reg_file)],
    }
    assert check_config(filled(config), ROOT)[0] == [
        "method_registry.mypca.params.ncomp: mypca has no parameter 'ncomp' (did you mean "
        "'n_comps'?); its parameters: n_comps"
    ]


def test_an_r_methods_code_includes_its_r_script_and_the_r_files_it_sources():
    from claire.bench.methods.signature import code_files

    # seurat: runner rscript; ismnn: a Python adapter that runs its R script
    for name, first in (("seurat", "seurat_integrate.R"), ("ismnn", "ismnn.py")):
        files = [Path(f).name for f in code_files(registry()[name], ROOT)]
        assert files[0] == first
        assert {f"{name}_integrate.R", "r_exchange.R"} <= set(files)
