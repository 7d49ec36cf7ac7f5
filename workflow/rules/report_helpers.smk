"""Settings and helpers of the figure and report rules (report.smk)."""

REPORT = config.get("report", {})
FIGURES = f"{RESULTS}/figures"
UMAP_SETTINGS = {
    "umap_max_cells": REPORT.get("umap_max_cells", 3000),
    "umap_neighbors": REPORT.get("umap_neighbors", 15),
}
# CLAIRE and its ablations (runner claire): snapshots, refinement statistics.
CLAIRE_METHODS = methods_by_runner("claire")
SENSITIVITY = REPORT.get("sensitivity", {})
SENSITIVITY_ON = SENSITIVITY.get("enabled", False)
SENSITIVITY_GRID = {p: SENSITIVITY.get(p, []) for p in ("alpha", "knn", "eta")}
# Tables shown (rounded, as HTML) in the report's "4. Tables" category, with their titles.
REPORT_TABLES = {
    "raw_metrics": "Raw metrics per dataset and method",
    "scores": "Scaled scores, S_batch, S_bio, F1 and rank",
    "training_curves": "Metrics of the CLAIRE snapshots per epoch",
    "seed_refinement": "Seeds before and after refinement",
    "runtime": "Runtime and peak memory of the integration step",
    "sensitivity": "CLAIRE hyper-parameter sensitivity grid",
}


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


def report_resources(runtime=10, mem_mb=2000):
    return {"mem_mb": mem_mb, "runtime": runtime}


def sensitivity_method():
    name = SENSITIVITY.get("method", "claire")
    if name not in config["methods"]:
        raise ValueError(
            f"report.sensitivity.method {name!r} is not a method of the config"
        )
    return config["methods"][name]


def grid_value_text(param, value):
    """Wildcard text of a grid value (knn an integer); claire.bench.sensitivity.parse_value reads it."""
    return str(int(value)) if param == "knn" else str(float(value))


def sensitivity_records(wildcards):
    """Result files of every grid run: one parameter varied at a time, per dataset."""
    return [
        f"{RESULTS}/sensitivity/{dataset}/{param}/{grid_value_text(param, value)}.json"
        for dataset in SENSITIVITY.get("datasets") or list(DATASETS)
        for param, values in SENSITIVITY_GRID.items()
        for value in values
    ]
