"""The runtime table's ``schedule`` column: the registry's authors' schedules against the
values a run records (claire.bench.tables.schedule)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json

import pytest

from claire.bench.registry.methods import RegistryError, method_spec, registry
from claire.bench.tables.schedule import (
    NO_TRAINING,
    method_schedule,
    run_params,
    schedule_text,
)


def _text(method: str, params: dict, n_cells: int = 3000, uns: dict | None = None) -> str:
    record = {"integration": {"params": json.dumps(params)}, **(uns or {})}
    return schedule_text(method_schedule(method, registry()), run_params(record), n_cells, record)


def test_schedule_text_from_run_records():
    assert _text("clear", {"epochs": 20}) == "20 of 100 epochs"
    assert _text("clear", {}) == "authors' schedule (100 epochs)"
    assert _text("insct_intended", {"epochs": 120, "negatives": "intended"}) == (
        "authors' schedule (120 epochs)"
    )
    assert _text("mat2", {"epochs": 10}) == "10 of 80 epochs per stage"
    assert _text("scdcc_li", {"pretrain_epochs": 20, "maxiter": 20}) == (
        "20 of 300 pretraining epochs; 20 of 2000 clustering epochs (cap)"
    )
    assert _text("desc", {"pretrain_epochs": 60, "max_iter": 50}) == (
        "60 of 300 pretraining epochs; 50 of 1000 clustering rounds (cap); "
        "50 epochs per lr stage (authors')"
    )
    for method in ("pca", "harmony", "seurat", "ismnn", "ismnn_free", "embed_cell_types"):
        assert _text(method, {"k_filter": 30}) == NO_TRAINING
    assert _text("nonexistent", {}).startswith("unknown")


def test_schedule_text_rules_and_step_floor():
    assert _text("scvi", {"max_epochs": 50}, n_cells=3000) == "50 epochs (authors' rule: 400)"
    assert _text("scvi", {"max_epochs": None}, n_cells=40000) == (
        "authors' schedule (epochs by the authors' rule (200))"
    )
    floor = {"claire": {"schedule": {"epochs": 46}, "params": {"epochs": 30, "min_steps": 600}}}
    assert _text("claire_var1", {"epochs": 30}, uns=floor) == (
        "30 of 120 epochs, raised to 46 by the 600-step floor"
    )
    assert _text("claire", {"epochs": 120}, uns={"claire": {"schedule": {"epochs": 120}}}) == (
        "authors' schedule (120 epochs)"
    )
    assert _text("claire__alpha_0.5", {"epochs": 30}) == "30 of 120 epochs"


def test_registry_schedule_is_checked():
    base = {"runner": "python", "module": "m", "family": "external"}
    spec = method_spec("x", {**base, "schedule": {"epochs": 10}})
    assert spec.schedule == {"epochs": {"authors": 10, "label": "epochs"}}
    with pytest.raises(RegistryError, match="authors or a rule"):
        method_spec("x", {**base, "schedule": {"epochs": None}})
    with pytest.raises(RegistryError, match="unknown key"):
        method_spec("x", {**base, "schedule": {"epochs": {"authors": 1, "units": "x"}}})


def _default(spec, param):
    """The default of ``param`` in a registered method's adapter (signature or settings)."""
    if spec.runner == "claire":
        from claire.params import ClaireParams

        return ClaireParams().as_dict()[param]
    module = importlib.import_module(spec.module)
    settings = getattr(module, "PARAMETERS", None)
    if settings is not None and dataclasses.is_dataclass(settings):
        return {f.name: f.default for f in dataclasses.fields(settings)}[param]
    return inspect.signature(module.run).parameters[param].default


def test_adapter_defaults_are_the_authors_values():
    """A parameter a run does not record ran at the adapter's default: the authors' value."""
    checked = 0
    for spec in registry().values():
        for param, entry in spec.schedule.items():
            assert _default(spec, param) == entry["authors"], (spec.name, param)
            checked += 1
    assert checked >= 9


def test_default_run_schedules_read_right():
    """config/config.yaml's competitors: the runtime table's schedule column from their
    method_params (docs/default-schedules.md), and snapshots inside each run."""
    import yaml
    from helpers.workflow import ROOT

    params = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["method_params"]
    expected = {
        "insct": "authors' schedule (120 epochs)",
        "clear": "authors' schedule (100 epochs)",
        "mat2": "authors' schedule (80 epochs per stage)",
        "smile": "60 of 80 epochs",
    }
    for method, text in expected.items():
        assert _text(method, params[method]) == text, method
        epochs = params[method]["epochs"]
        assert max(params[method]["snapshot_epochs"]) == epochs, method
        assert min(params[method]["snapshot_epochs"]) >= 0, method
