"""Figures and the Snakemake report (paper figures 2-4, supplementary S2/S3).

Tables: results/tables/seed_refinement.csv (uns["claire"] of the CLAIRE runs),
  runtime.csv (integration benchmark TSVs); results/report/tables/*.html show every table
  (rounded) inside the report.
Figures: results/figures/*.{png,pdf}; the PNGs go into `snakemake --report`, captions
  from workflow/report/*.rst. The sensitivity grid (Fig. 4b) runs when
  report.sensitivity.enabled is true.
"""


report: "../report/workflow.rst"


include: "report_helpers.smk"


# ---- tables -----------------------------------------------------------------------------


rule collect_seed_refinement:
    input:
        results=expand(
            f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
            dataset=list(DATASETS),
            method=CLAIRE_METHODS,
        ),
    output:
        f"{RESULTS}/tables/seed_refinement.csv",
    log:
        f"{RESULTS}/logs/report/collect_seed_refinement.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/collect_seed_refinement.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/collect_seed_refinement.py"


rule collect_runtime:
    input:
        benchmarks=expand(
            f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}.tsv",
            dataset=list(DATASETS),
            method=list(METHODS),
        ),
        raw_metrics=f"{RESULTS}/tables/raw_metrics.csv",
    output:
        f"{RESULTS}/tables/runtime.csv",
    log:
        f"{RESULTS}/logs/report/collect_runtime.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/collect_runtime.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/collect_runtime.py"


rule format_table:
    input:
        f"{RESULTS}/tables/{{table}}.csv",
    output:
        report(
            f"{RESULTS}/report/tables/{{table}}.html",
            caption="../report/formatted_table.rst",
            category="4. Tables",
            labels={"table": "{table}"},
        ),
    log:
        f"{RESULTS}/logs/report/format_table/{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/format_table/{{table}}.tsv"
    wildcard_constraints:
        table="|".join(REPORT_TABLES),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    params:
        digits=4,
        title=lambda wildcards: REPORT_TABLES[wildcards.table],
    script:
        "../scripts/format_table.py"


# ---- figures ----------------------------------------------------------------------------


rule plot_scores:
    input:
        f"{RESULTS}/tables/scores.csv",
    output:
        f1=report_png("f1_bars", "1. Scores", labels={"figure": "F1 per dataset"}),
        batch_vs_bio=report_png(
            "batch_vs_bio", "1. Scores", labels={"figure": "S_batch vs S_bio"}
        ),
    log:
        f"{RESULTS}/logs/report/plot_scores.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_scores.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    params:
        methods=list(METHODS),
    script:
        "../scripts/plot_scores.py"


rule plot_umap:
    input:
        expand(
            f"{RESULTS}/integration/{{{{dataset}}}}/{{method}}.h5ad",
            method=list(METHODS),
        ),
    output:
        report_png(
            "umap/{dataset}",
            "2. Embeddings",
            "UMAP per method",
            caption="umap",
            labels={"dataset": "{dataset}", "figure": "UMAP per method"},
        ),
    log:
        f"{RESULTS}/logs/report/plot_umap/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_umap/{{dataset}}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(runtime=30, mem_mb=4000),
    params:
        methods=list(METHODS),
        settings=UMAP_SETTINGS,
        seed=SEED,
    script:
        "../scripts/plot_umap.py"


rule plot_umap_epochs:
    input:
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
    output:
        report_png(
            "umap_epochs/{dataset}/{method}",
            "2. Embeddings",
            "UMAP per training epoch",
            caption="umap_epochs",
            labels={"dataset": "{dataset}", "method": "{method}"},
        ),
    log:
        f"{RESULTS}/logs/report/plot_umap_epochs/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_umap_epochs/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(CLAIRE_METHODS),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(runtime=30, mem_mb=4000),
    params:
        settings=UMAP_SETTINGS,
        seed=SEED,
    script:
        "../scripts/plot_umap_epochs.py"


rule plot_training_curves:
    input:
        f"{RESULTS}/tables/training_curves.csv",
    output:
        report_png("training_curves", "3. CLAIRE", labels={"figure": "training curves"}),
    log:
        f"{RESULTS}/logs/report/plot_training_curves.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_training_curves.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    params:
        methods=list(METHODS),
    script:
        "../scripts/plot_training_curves.py"


rule plot_seed_refinement:
    input:
        f"{RESULTS}/tables/seed_refinement.csv",
    output:
        report_png("seed_refinement", "3. CLAIRE", labels={"figure": "seed refinement"}),
    log:
        f"{RESULTS}/logs/report/plot_seed_refinement.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_seed_refinement.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/plot_seed_refinement.py"


rule plot_runtime:
    input:
        f"{RESULTS}/tables/runtime.csv",
    output:
        report_png(
            "runtime_memory", "1. Scores", labels={"figure": "runtime and memory"}
        ),
    log:
        f"{RESULTS}/logs/report/plot_runtime.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_runtime.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    params:
        methods=list(METHODS),
    script:
        "../scripts/plot_runtime.py"


# ---- hyper-parameter sensitivity (optional, report.sensitivity.enabled) --------------------


rule sensitivity_run:
    input:
        preprocessed,
    output:
        f"{RESULTS}/sensitivity/{{dataset}}/{{param}}/{{value}}.json",
    log:
        f"{RESULTS}/logs/sensitivity/{{dataset}}/{{param}}/{{value}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sensitivity/{{dataset}}/{{param}}/{{value}}.tsv"
    wildcard_constraints:
        param="alpha|knn|eta",
        value=r"[0-9.]+",
    conda:
        "../../envs/sensitivity.yaml"
    threads: SENSITIVITY.get("threads", 2)
    resources:
        mem_mb=SENSITIVITY.get("mem_mb", 8000),
        runtime=SENSITIVITY.get("runtime", 120),
        gpu=SENSITIVITY.get("gpu", 0),
    params:
        claire_params=lambda wildcards: {
            **sensitivity_method().get("params", {}),
            **DATASETS[wildcards.dataset].get("claire", {}),
        },
        metrics=METRICS,
        seed=SEED,
    script:
        "../scripts/sensitivity_run.py"


rule aggregate_sensitivity:
    input:
        sensitivity_records,
    output:
        f"{RESULTS}/tables/sensitivity.csv",
    log:
        f"{RESULTS}/logs/report/aggregate_sensitivity.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/aggregate_sensitivity.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/aggregate_sensitivity.py"


rule plot_sensitivity:
    input:
        f"{RESULTS}/tables/sensitivity.csv",
    output:
        report_png("sensitivity", "3. CLAIRE", labels={"figure": "sensitivity"}),
    log:
        f"{RESULTS}/logs/report/plot_sensitivity.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_sensitivity.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/plot_sensitivity.py"


ALL_TARGETS.extend(
    [
        *figure("f1_bars"),
        *figure("batch_vs_bio"),
        *figure("runtime_memory"),
        *figure("training_curves"),
        *figure("seed_refinement"),
        *[path for dataset in DATASETS for path in figure(f"umap/{dataset}")],
        *[
            path
            for dataset in DATASETS
            for method in CLAIRE_METHODS
            for path in figure(f"umap_epochs/{dataset}/{method}")
        ],
        *expand(
            f"{RESULTS}/report/tables/{{table}}.html",
            table=[t for t in REPORT_TABLES if t != "sensitivity"],
        ),
    ]
)
if SENSITIVITY_ON:
    ALL_TARGETS.extend(
        [*figure("sensitivity"), f"{RESULTS}/report/tables/sensitivity.html"]
    )
