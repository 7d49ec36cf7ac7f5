"""Settings and helpers of the figure and report rules (report.smk)."""

from claire.bench.registry.figures import caption_fields, load_figures
from claire.bench.registry.tables import experiment_entries, load_tables

REPORT = config["report"]
FIGURES = f"{RESULTS}/figures"
UMAP_SETTINGS = {
    "umap_max_cells": REPORT["umap_max_cells"],
    "umap_neighbors": REPORT["umap_neighbors"],
}
# CLAIRE and its ablations (runner claire): refinement statistics.
CLAIRE_METHODS = [m for m in METHODS if REGISTRY[m].runner == "claire"]
# The table registry (config/tables.yaml plus the config's table_registry files): the tables
# shown (rounded, as HTML) in the report, their titles, captions and categories.
TABLE_SPECS = load_tables(config["table_registry"])
# The figure registry (config/figures.yaml plus the config's figure_registry files).
FIGURE_SPECS = load_figures(config["figure_registry"])
# Metric and score labels from the metric registry, for the captions that stay Jinja
# templates in workflow/report/ (the workflow description sees only the config):
# {{ snakemake.config["_caption_fields"]["bras"] }}; derived, never read from a config file.
config["_caption_fields"] = caption_fields()


def figure(name):
    """PNG (shown in the report) and PDF paths of a figure."""
    return [f"{FIGURES}/{name}.png", f"{FIGURES}/{name}.pdf"]


def report_png(name, category, subcategory=None, caption=None, labels=None):
    """The figure's PNG wrapped for the report, then its PDF."""
    png, pdf = figure(name)
    caption = f"../report/{caption or name}.rst"
    shown = report(
        png, caption=caption, category=category, subcategory=subcategory, labels=labels
    )
    return [shown, pdf]


def figure_methods(spec):
    """The methods a registered figure shows: all, or the paper's (controls left out)."""
    return PAPER_METHODS if spec.methods == "paper" else METHODS


def experiment_outputs(experiment=None):
    """Figures and table pages of the registries that belong to one optional experiment
    (None: those of every run)."""
    return [
        *[
            path
            for name in experiment_entries(FIGURE_SPECS, experiment)
            for path in figure(name)
        ],
        *[
            f"{RESULTS}/report/tables/{name}.html"
            for name in experiment_entries(TABLE_SPECS, experiment)
        ],
    ]


def report_resources(runtime=10, mem_mb=2000):
    return {"mem_mb": mem_mb, "runtime": runtime}
