"""Metrics per run (dataset x method x repeat) and their aggregation into benchmark tables.

compute_metrics: results/metrics/{dataset}/{method}/rep{r}.json (the metrics of
  claire.bench.registry.metrics.METRICS; status "failed" for a failed run).
training_curve: results/metrics/{dataset}/{method}/rep{r}.curve.csv, the metrics of every
  embedding snapshot of a run that keeps snapshots (params snapshot_epochs; paper Fig. 2a).
aggregate_metrics: results/tables/raw_metrics.csv (every run), scores.csv (one row per
  repeat), summary.csv (mean and sd over repeats), benchmark.md (the paper's F1: control
  methods left out), control_scaled.csv/_summary.csv/.md (metrics scaled between controls).
aggregate_curves: results/tables/training_curves.csv.
"""


rule compute_metrics:
    input:
        integration=INTEGRATION,
        # PCR (extended metrics) compares with the unintegrated data; trajectory conservation
        # reads the true pseudotime of datasets that declare a pseudotime_key
        preprocessed=metrics_preprocessed,
    output:
        METRICS_RECORD,
    log:
        f"{RESULTS}/logs/compute_metrics/{{dataset}}/{{method}}/rep{{repeat}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/compute_metrics/{{dataset}}/{{method}}/rep{{repeat}}.tsv"
    conda:
        "../../envs/metrics.yaml"
    threads: METRICS["threads"]
    resources:
        mem_mb=METRICS["mem_mb"],
        runtime=METRICS["runtime"],
    params:
        metrics=METRICS,
        seed=SEED,
        pseudotime_key=lambda wildcards: pseudotime_key(wildcards.dataset),
    script:
        "../scripts/compute_metrics.py"


rule training_curve:
    input:
        integration=INTEGRATION,
        # the final embedding's metrics, reused for the snapshot of the last epoch
        record=METRICS_RECORD,
    output:
        CURVE,
    log:
        f"{RESULTS}/logs/training_curve/{{dataset}}/{{method}}/rep{{repeat}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/training_curve/{{dataset}}/{{method}}/rep{{repeat}}.tsv"
    conda:
        "../../envs/metrics.yaml"
    threads: METRICS["threads"]
    resources:
        mem_mb=METRICS["mem_mb"],
        runtime=METRICS["runtime"],
    params:
        metrics=METRICS,
        seed=SEED,
    script:
        "../scripts/training_curve.py"


rule aggregate_metrics:
    input:
        metrics=run_targets(METRICS_RECORD, METHODS),
    output:
        raw=f"{RESULTS}/tables/raw_metrics.csv",
        scores=f"{RESULTS}/tables/scores.csv",
        summary=f"{RESULTS}/tables/summary.csv",
        markdown=f"{RESULTS}/tables/benchmark.md",
        control_scaled=f"{RESULTS}/tables/control_scaled.csv",
        control_summary=f"{RESULTS}/tables/control_scaled_summary.csv",
        control_markdown=f"{RESULTS}/tables/control_scaled.md",
    log:
        f"{RESULTS}/logs/aggregate_metrics.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_metrics/all.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        extended=METRICS_EXTENDED,
        labels=METHOD_LABELS,
        uses_labels=LABEL_INFORMED,
        control_methods=CONTROL_METHODS,
        scaling_controls=SCALING_CONTROLS,
    script:
        "../scripts/aggregate_metrics.py"


rule aggregate_curves:
    input:
        curves=curve_files(),
    output:
        f"{RESULTS}/tables/training_curves.csv",
    log:
        f"{RESULTS}/logs/aggregate_curves.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_curves/all.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/aggregate_curves.py"
