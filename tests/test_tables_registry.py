"""The table registry (issue 27 item 2): a report table is one entry (and, for a derived
table, one function); the report's table targets and the captions of tables, registered
figures and the Jinja caption files derive from the registries, so that renaming a metric
changes no caption file."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pandas as pd
import pytest
import yaml
from helpers.workflow import ROOT, run_snakemake, tiny_dataset

from claire.bench.registry import metrics
from claire.bench.registry.figures import caption_fields, caption_text, load_figures
from claire.bench.registry.tables import (
    TableRegistryError,
    experiment_entries,
    load_tables,
    table_spec,
)
from claire.bench.tables.registered import derive_table

REPORT = ROOT / "workflow" / "report"
TOY_TABLE = {
    "function": f"{ROOT / 'tests' / 'plugins' / 'toy_table.py'}:repeats_per_method",
    "tables": ["scores"],
    "title": "Finished repeats per dataset and method",
    "caption": "Finished repeats; the F1 of a repeat combines {batch_metrics} with {bio_metrics}.",
}
# The report's tables and titles before the registry (REPORT_TABLES of report_helpers.smk):
# the registry keeps every name, title and page, and the two experiments' tables optional.
TITLES = {
    "raw_metrics": "Raw metrics per dataset, method and repeat",
    "scores": "Scaled scores, S_batch, S_bio, F1 and rank per repeat",
    "summary": "Mean and standard deviation over repeats († uses cell-type labels)",
    "control_scaled_summary": "Control-scaled batch, bio and overall scores next to the paper's F1",
    "control_scaled": "Every metric scaled between the worst and best control, per repeat",
    "training_curves": "Metrics of the embedding snapshots per epoch",
    "seed_refinement": "Seeds before and after refinement (CLAIRE)",
    "runtime": "Runtime and peak memory of the integration step",
    "sensitivity": "CLAIRE hyper-parameter sensitivity grid",
    "scaling": "Time and memory against the number of cells (scaling experiment)",
}


def renamed_kbet() -> list[metrics.Metric]:
    return [
        dataclasses.replace(m, label="kBET acceptance") if m.name == "kbet" else m
        for m in metrics.METRICS
    ]


def render(template: str, **context) -> str:
    """A caption file rendered as Snakemake's report renders it (Jinja2)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string((REPORT / template).read_text()).render(**context)


def test_builtin_tables_keep_their_names_titles_and_experiments():
    tables = load_tables()
    assert {name: spec.title for name, spec in tables.items()} == TITLES
    assert experiment_entries(tables, "sensitivity") == ["sensitivity"]
    assert experiment_entries(tables, "scaling") == ["scaling"]
    assert "sensitivity" not in experiment_entries(tables)
    assert {spec.category for spec in tables.values()} == {"4. Tables"}
    assert tables["raw_metrics"].built_by == "aggregate_metrics"  # a shared aggregate step
    for spec in tables.values():
        assert spec.caption_text and "{" not in spec.caption_text
    assert "mean of scaled bASW and kBET" in tables["scores"].caption_text


def test_table_entries_are_checked():
    with pytest.raises(TableRegistryError, match="'no_such_metric'"):
        table_spec("bad", {**TOY_TABLE, "caption": "uses {no_such_metric}"})
    with pytest.raises(TableRegistryError, match="exactly one of built_by and function"):
        table_spec("bad", {**TOY_TABLE, "built_by": "aggregate_metrics"})
    with pytest.raises(TableRegistryError, match="optional must be one of"):
        table_spec("bad", {**TOY_TABLE, "optional": "downstream"})
    with pytest.raises(TableRegistryError, match="unknown registry key"):
        table_spec("bad", {**TOY_TABLE, "colour": "red"})


def test_the_toy_table_derives_from_its_tables(tmp_path):
    scores = tmp_path / "scores.csv"
    pd.DataFrame(
        {"dataset": "d", "method": ["pca", "pca", "harmony"], "status": ["ok", "ok", "failed"]}
    ).to_csv(scores, index=False)
    table = derive_table(TOY_TABLE["function"], {"scores": scores})
    assert table.to_dict("records") == [{"dataset": "d", "method": "pca", "repeats": 2}]


def test_a_metric_rename_changes_table_and_figure_captions_not_a_caption_file():
    renamed = renamed_kbet()
    tables, figures = load_tables(), load_figures()
    for template in (
        tables["raw_metrics"].caption,
        tables["scores"].caption,
        tables["training_curves"].caption,
        figures["training_curves"].caption,
        figures["sensitivity"].caption,
    ):
        assert "kBET" in caption_text(template)
        assert "kBET acceptance" in caption_text(template, renamed)
    # the caption files that stay Jinja templates read the labels from the config, where
    # report_helpers.smk puts caption_fields() of the metric registry
    config = {"_caption_fields": caption_fields(renamed), "methods": ["pca"], "repeats": 1}
    workflow = render("workflow.rst", snakemake=SimpleNamespace(config=config))
    assert "bASW and kBET acceptance (batch mixing)" in workflow
    renamed_bras = [
        dataclasses.replace(m, label="BRAS score") if m.name == "bras" else m
        for m in metrics.METRICS
    ]
    control_scaled = figures["control_scaled"].caption
    assert "BRAS score" in caption_text(control_scaled, renamed_bras)
    assert "BRAS score" not in caption_text(control_scaled)


def test_the_table_caption_file_shows_the_entry_caption():
    spec = load_tables()["scores"]
    snakemake = SimpleNamespace(
        wildcards=SimpleNamespace(table="scores"),
        params=SimpleNamespace(caption=spec.caption_text),
    )
    text = render("formatted_table.rst", snakemake=snakemake)
    assert text.startswith("The table results/tables/scores.csv, rounded")
    assert "S_bio (mean of\nscaled ARI and NMI)" in text


def metric_labels_named_in(text: str, metric_list=None) -> list[str]:
    """Registered metric labels written out in ``text`` as words (not inside a Jinja
    expression ``{{ ... }}`` or a longer word such as "kBETs" or a file name)."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.S)
    found = []
    for metric in metrics.METRICS if metric_list is None else metric_list:
        if re.search(rf"(?<![\w./-]){re.escape(metric.label)}(?![\w/-])", text):
            found.append(metric.label)
    return found


def test_the_word_check_is_precise():
    assert metric_labels_named_in("Raw bASW, kBET and ARI of every run") == [
        "bASW",
        "kBET",
        "ARI",
    ]
    assert metric_labels_named_in("with {{ m.basw }} and {{ m.kbet }}; results/kBET.csv") == []
    assert metric_labels_named_in("the scIB extras and CiLISI)") == ["CiLISI"]


@pytest.mark.parametrize("path", sorted(REPORT.glob("*.rst")), ids=lambda p: p.name)
def test_no_caption_file_names_a_metric_by_hand(path: Path):
    assert metric_labels_named_in(path.read_text()) == [], (
        f"{path.name}: write metric names as {{{{ m.<name> }}}} (config['_caption_fields']) "
        "or move the caption into a registry entry"
    )


def test_one_entry_adds_the_table_rule_and_the_report_target(tmp_path):
    """docs/adding-a-figure.md: the toy table's entry in an extra registry file (config
    `table_registry`) gives a rule table_repeats_per_method and a report page target."""
    extra = tmp_path / "tables.yaml"
    extra.write_text(yaml.safe_dump({"repeats_per_method": TOY_TABLE}, sort_keys=False))
    config = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["pca"],
        "table_registry": [str(extra)],
    }
    dag = run_snakemake(tmp_path / "run", config, extra=("-n",))
    assert dag.returncode == 0, dag.stderr[-3000:]
    out = dag.stdout + dag.stderr
    assert "rule table_repeats_per_method:" in out
    assert "results/tables/repeats_per_method.csv" in out
    assert "results/report/tables/repeats_per_method.html" in out  # a target of `rule all`
    assert "sensitivity.html" not in out  # an experiment's table only when it runs


def test_built_by_must_name_a_rule_of_the_workflow(tmp_path):
    extra = tmp_path / "tables.yaml"
    entry = {"built_by": "no_such_rule", "title": "t", "caption": "{f1}"}
    extra.write_text(yaml.safe_dump({"orphan": entry}))
    config = {"datasets": {"tiny": tiny_dataset()}, "methods": ["pca"]}
    dag = run_snakemake(tmp_path / "run", {**config, "table_registry": [str(extra)]}, extra=("-n",))
    assert dag.returncode != 0
    assert "table 'orphan': built_by names no rule ('no_such_rule')" in dag.stdout + dag.stderr
