"""Metrics per (dataset, method) and their aggregation into benchmark tables.

compute_metrics: results/metrics/{dataset}/{method}.json (bASW, kBET, ARI, NMI, cASW,
  + extended scIB metrics when metrics.extended; status "failed" for a failed method).
training_curve: results/metrics/{dataset}/{method}.curve.csv, the metrics of every
  embedding snapshot of the claire-runner methods (paper Fig. 2a).
aggregate_metrics: results/tables/raw_metrics.csv, scores.csv, benchmark.md.
aggregate_curves: results/tables/training_curves.csv.
"""

METRICS = config.get("metrics", {})
METRICS_EXTENDED = METRICS.get("extended", False)
CURVE_METHODS = methods_by_runner("claire")


rule compute_metrics:
    input:
        integration=f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
        # PCR (extended metrics) compares with the unintegrated data
        preprocessed=preprocessed if METRICS_EXTENDED else [],
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{method}}.json",
    log:
        f"{RESULTS}/logs/compute_metrics/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/compute_metrics/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(METHODS),
    conda:
        "../../envs/metrics.yaml"
    threads: METRICS.get("threads", 2)
    resources:
        mem_mb=METRICS.get("mem_mb", 8000),
        runtime=METRICS.get("runtime", 60),
    params:
        metrics=METRICS,
        seed=SEED,
    script:
        "../scripts/compute_metrics.py"


rule training_curve:
    input:
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{method}}.curve.csv",
    log:
        f"{RESULTS}/logs/training_curve/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/training_curve/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(CURVE_METHODS),
    conda:
        "../../envs/metrics.yaml"
    threads: METRICS.get("threads", 2)
    resources:
        mem_mb=METRICS.get("mem_mb", 8000),
        runtime=METRICS.get("runtime", 60),
    params:
        metrics=METRICS,
        seed=SEED,
    script:
        "../scripts/training_curve.py"


rule aggregate_metrics:
    input:
        metrics=expand(
            f"{RESULTS}/metrics/{{dataset}}/{{method}}.json",
            dataset=list(DATASETS),
            method=list(METHODS),
        ),
    output:
        raw=f"{RESULTS}/tables/raw_metrics.csv",
        scores=f"{RESULTS}/tables/scores.csv",
        markdown=f"{RESULTS}/tables/benchmark.md",
    log:
        f"{RESULTS}/logs/aggregate_metrics.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_metrics/all.tsv"
    conda:
        "../../envs/metrics.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        extended=METRICS_EXTENDED,
    script:
        "../scripts/aggregate_metrics.py"


rule aggregate_curves:
    input:
        curves=expand(
            f"{RESULTS}/metrics/{{dataset}}/{{method}}.curve.csv",
            dataset=list(DATASETS),
            method=CURVE_METHODS,
        ),
    output:
        f"{RESULTS}/tables/training_curves.csv",
    log:
        f"{RESULTS}/logs/aggregate_curves.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_curves/all.tsv"
    conda:
        "../../envs/metrics.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/aggregate_curves.py"


ALL_TARGETS.extend(
    [
        f"{RESULTS}/tables/raw_metrics.csv",
        f"{RESULTS}/tables/scores.csv",
        f"{RESULTS}/tables/benchmark.md",
        f"{RESULTS}/tables/training_curves.csv",
    ]
)
