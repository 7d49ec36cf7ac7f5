"""Settings and helpers of the figure and report rules (report.smk)."""

from claire.bench.registry.figures import load_figures

REPORT = config["report"]
FIGURES = f"{RESULTS}/figures"
UMAP_SETTINGS = {
    "umap_max_cells": REPORT["umap_max_cells"],
    "umap_neighbors": REPORT["umap_neighbors"],
}
# CLAIRE and its ablations (runner claire): refinement statistics.
CLAIRE_METHODS = [m for m in METHODS if REGISTRY[m].runner == "claire"]
# Tables shown (rounded, as HTML) in the report's "4. Tables" category, with their titles.
REPORT_TABLES = {
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
# The figure registry (config/figures.yaml plus the config's figure_registry files).
FIGURE_SPECS = load_figures(config["figure_registry"])
# Tables of optional experiments, shown only when they run.
OPTIONAL_TABLES = ("sensitivity", "scaling")


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


def report_resources(runtime=10, mem_mb=2000):
    return {"mem_mb": mem_mb, "runtime": runtime}
