"""The figure registry: a report figure is one plot function plus one entry; its rule and
report target derive from the entry, and captions name metrics through the metric registry."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import yaml
from helpers.workflow import ROOT, run_snakemake, tiny_dataset
from matplotlib.figure import Figure

from claire.bench.plots.figures import draw, plot_function
from claire.bench.registry import metrics
from claire.bench.registry.figures import (
    FigureRegistryError,
    caption_text,
    figure_spec,
    load_figures,
)

TOY_ENTRY = {
    "function": f"{ROOT / 'tests' / 'plugins' / 'toy_figure.py'}:repeats_per_method",
    "tables": ["scores"],
    "category": "1. Scores",
    "label": "repeats per method",
    "caption": "Finished repeats per method; F1 combines {batch_metrics} with {bio_metrics}.",
}


def test_builtin_figures_resolve_and_keep_their_names():
    figures = load_figures()
    assert list(figures)[:3] == ["f1_bars", "batch_vs_bio", "runtime_memory"]
    for spec in figures.values():
        assert callable(plot_function(spec.function))
        assert spec.caption_text and "{" not in spec.caption_text
    assert "min-max scaled bASW and kBET" in figures["f1_bars"].caption_text
    assert "min-max scaled ARI and NMI" in figures["f1_bars"].caption_text


def test_a_metric_rename_changes_the_caption_not_a_caption_file():
    template = load_figures()["f1_bars"].caption
    renamed = [
        dataclasses.replace(m, label="kBET acceptance") if m.name == "kbet" else m
        for m in metrics.METRICS
    ]
    assert "bASW and kBET acceptance" in caption_text(template, renamed)
    assert caption_text("{basw}, {f1}, {s_batch}") == "bASW, F1, S_batch"
    with pytest.raises(FigureRegistryError, match="'no_such_metric'"):
        figure_spec("bad", {**TOY_ENTRY, "caption": "uses {no_such_metric}"})
    with pytest.raises(FigureRegistryError, match="unknown registry key"):
        figure_spec("bad", {**TOY_ENTRY, "colour": "red"})


def test_the_toy_figure_draws_from_its_tables(tmp_path):
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"method": ["pca", "pca", "harmony"], "status": ["ok", "ok", "failed"]}).to_csv(
        scores, index=False
    )
    figure = draw(TOY_ENTRY["function"], {"scores": scores}, methods=["pca", "harmony"], labels={})
    assert isinstance(figure, Figure)
    assert [p.get_height() for p in figure.axes[0].patches] == [2, 0]


def test_one_entry_adds_the_rule_and_the_report_target(tmp_path):
    """docs/adding-a-figure.md: the toy figure's entry in an extra registry file (config
    `figure_registry`) gives a rule plot_repeats_per_method and a target of `rule all`."""
    extra = tmp_path / "figures.yaml"
    extra.write_text(yaml.safe_dump({"repeats_per_method": TOY_ENTRY}, sort_keys=False))
    config = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["pca"],
        "figure_registry": [str(extra)],
    }
    dag = run_snakemake(tmp_path / "run", config, extra=("-n",))
    assert dag.returncode == 0, dag.stderr[-3000:]
    out = dag.stdout + dag.stderr
    assert "rule plot_repeats_per_method:" in out
    assert "results/figures/repeats_per_method.png" in out  # a target of `rule all`
