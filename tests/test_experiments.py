"""The experiments' library functions: the sensitivity grid and the scaling datasets that
the workflow builds from the config while parsing (workflow/rules/common.smk)."""

from __future__ import annotations

import pytest

from claire.bench.experiments import scaling
from claire.bench.experiments.sensitivity import parse_value, run_name, sensitivity_runs
from claire.bench.registry.methods import load_registry

SOURCE = {
    "source": {"type": "simulated", "n_cells": 3000},
    "batch_key": "b",
    "label_key": "l",
    "method_params": {"claire": {"epochs": 5}},
}
BLOCK = {
    "source": SOURCE,
    "sizes": [2000, 500, 5000, 500],
    "seed": 7,
    "time_budget_min": 30,
    "mem_budget_mb": 4000,
}


def test_the_sensitivity_grid_changes_one_parameter_per_run():
    block = {"enabled": True, "method": "claire", "alpha": [0.3, 0.5], "knn": [5.0], "eta": []}
    runs = sensitivity_runs(block, load_registry())
    assert runs == {
        "claire__alpha_0.3": ("claire", {"alpha": 0.3}),
        "claire__alpha_0.5": ("claire", {"alpha": 0.5}),
        "claire__knn_5": ("claire", {"knn": 5}),
    }
    assert sensitivity_runs({**block, "enabled": False}, load_registry()) == {}
    assert run_name("claire", "knn", "10.0") == "claire__knn_10" and parse_value("eta", 1) == 1.0
    with pytest.raises(ValueError, match="runner-claire"):
        sensitivity_runs({**block, "method": "harmony"}, load_registry())
    with pytest.raises(ValueError, match="unknown sensitivity parameter"):
        parse_value("epochs", 3)


def test_scaling_datasets_are_the_source_and_its_sorted_subsamples():
    datasets = scaling.scaling_datasets(BLOCK, "res")
    # sizes sorted, deduplicated, none above the simulated source's 3000 cells
    assert list(datasets) == ["scaling_source", "scaling_500", "scaling_2000"]
    assert datasets["scaling_source"] == {**SOURCE, "method_params": {}}
    small = datasets["scaling_500"]
    assert small["source"] == {
        "type": "h5ad",
        "path": "res/data/scaling_source/raw.h5ad",
        "optional": False,
    }
    assert small["subsample"] == {"n_cells": 500, "seed": 7}
    assert (small["batch_key"], small["label_key"]) == ("batch", "cell_type")
    assert small["method_params"] == {"claire": {"epochs": 5}}
    assert scaling.scaling_datasets({**BLOCK, "source": None}, "res") == {}
    sizes = scaling.sized_datasets(datasets)
    assert list(sizes) == ["scaling_500", "scaling_2000"]
    assert scaling.smaller_dataset(sizes, "scaling_2000") == "scaling_500"
    assert scaling.smaller_dataset(sizes, "scaling_500") is None
    assert scaling.smaller_dataset(sizes, "kang") is None


def test_scaling_budget_and_job_runtime():
    assert scaling.run_budget(BLOCK) == {"seconds": 1800, "mem_mb": 4000}
    assert scaling.budget_runtime(60, BLOCK) == 60 and scaling.budget_runtime(10, BLOCK) == 40


def test_an_h5ad_source_keeps_every_size():
    block = {**BLOCK, "source": {**SOURCE, "source": {"type": "h5ad", "path": "x.h5ad"}}}
    assert list(scaling.sized_datasets(scaling.scaling_datasets(block, "r"))) == [
        "scaling_500",
        "scaling_2000",
        "scaling_5000",
    ]
