"""Which files each stage makes (the targets of `rule all` and of the report, sensitivity
and scaling rules), in one place."""

SCALING_TABLE = f"{RESULTS}/tables/scaling.csv"


def curve_runs(dataset):
    """Listed methods that keep epoch snapshots on ``dataset``."""
    return [run for run in METHODS if has_snapshots(run, dataset)]


def umap_epoch_runs(dataset):
    """Methods whose snapshots get a UMAP per epoch (report.umap_epoch_methods; null: all)."""
    chosen = REPORT["umap_epoch_methods"]
    runs = curve_runs(dataset)
    return runs if chosen is None else [run for run in runs if run in chosen]


def curve_files():
    return [
        path
        for dataset in DATASETS
        for path in run_targets(CURVE, curve_runs(dataset), [dataset])
    ]


def sensitivity_records():
    return run_targets(METRICS_RECORD, SENSITIVITY_RUNS, SENSITIVITY_DATASETS)


def sensitivity_outputs():
    return experiment_outputs("sensitivity")


def scaling_results():
    return run_targets(INTEGRATION, SCALING_METHODS, list(SCALING_DATASETS))


def scaling_outputs():
    return [SCALING_TABLE, *experiment_outputs("scaling")]


def report_outputs():
    """Every table page and figure of the report (rule all, via final_outputs); the
    entries of the figure and table registries, then the figures with their own rules.
    """
    return [
        *experiment_outputs(),
        *[
            path
            for dataset in DATASETS
            if pseudotime_key(dataset)
            for path in figure(f"umap_pseudotime/{dataset}")
        ],
        *[path for dataset in DATASETS for path in figure(f"umap/{dataset}")],
        *[
            path
            for dataset in DATASETS
            for method in umap_epoch_runs(dataset)
            for path in figure(f"umap_epochs/{dataset}/{method}")
        ],
    ]


def final_outputs():
    """Every target of `rule all`, in one place."""
    targets = [
        *[PREPROCESSED.format(dataset=dataset) for dataset in DATASETS],
        *run_targets(INTEGRATION, METHODS),
        f"{RESULTS}/tables/raw_metrics.csv",
        f"{RESULTS}/tables/scores.csv",
        f"{RESULTS}/tables/summary.csv",
        f"{RESULTS}/tables/benchmark.md",
        f"{RESULTS}/tables/training_curves.csv",
        *report_outputs(),
    ]
    if SENSITIVITY_RUNS:
        targets += sensitivity_outputs()
    if SCALING["enabled"]:
        targets += scaling_outputs()
    return targets
