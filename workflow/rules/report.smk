"""Figures and the Snakemake report (paper figures 2-4, supplementary S2/S3).

The figures and tables of the report are entries of the figure and table registries
(config/figures.yaml, config/tables.yaml): the rules below derive from them.

Tables: results/tables/seed_refinement.csv (uns["claire"] of the CLAIRE runs),
  runtime.csv (integration benchmark TSVs and result files, per repeat);
  results/report/tables/*.html show every table (rounded) inside the report.
Figures: results/figures/*.{png,pdf}; the PNGs go into `snakemake --report`, captions
  from workflow/report/*.rst. UMAPs show repeat 0.
"""


report: "../report/workflow.rst"


# ---- tables -----------------------------------------------------------------------------


rule collect_seed_refinement:
    input:
        results=run_targets(INTEGRATION, CLAIRE_METHODS),
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
        benchmarks=run_targets(INTEGRATE_BENCHMARK, METHODS),
        results=run_targets(INTEGRATION, METHODS),
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


# Every table of the table registry (config/tables.yaml) that an entry derives with its own
# function: one rule each, table_<name>; the others are written by the rule in built_by.
for _table in TABLE_SPECS.values():
    if _table.function is None:
        continue

    rule:
        name:
            f"table_{_table.name}"
        input:
            [f"{RESULTS}/tables/{table}.csv" for table in _table.tables],
        output:
            f"{RESULTS}/tables/{_table.name}.csv",
        log:
            f"{RESULTS}/logs/report/table_{_table.name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/report/table_{_table.name}.tsv"
        conda:
            "../../envs/report.yaml"
        threads: 1
        resources:
            **report_resources(),
        params:
            function=_table.function,
            tables=list(_table.tables),
        script:
            "../scripts/derive_table.py"


# Every table of the table registry as a rounded HTML page; category and caption from its
# entry (workflow/report/formatted_table.rst).
rule format_table:
    input:
        f"{RESULTS}/tables/{{table}}.csv",
    output:
        report(
            f"{RESULTS}/report/tables/{{table}}.html",
            caption="../report/formatted_table.rst",
            category=lambda wildcards: TABLE_SPECS[wildcards.table].category,
            labels={"table": "{table}"},
        ),
    log:
        f"{RESULTS}/logs/report/format_table/{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/format_table/{{table}}.tsv"
    wildcard_constraints:
        table="|".join(TABLE_SPECS),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    params:
        digits=4,
        title=lambda wildcards: TABLE_SPECS[wildcards.table].title,
        caption=lambda wildcards: TABLE_SPECS[wildcards.table].caption_text,
    script:
        "../scripts/format_table.py"


# ---- figures ----------------------------------------------------------------------------


# Every figure of the figure registry (config/figures.yaml): one rule each, plot_<name>.
for _figure in FIGURE_SPECS.values():

    rule:
        name:
            f"plot_{_figure.name}"
        input:
            [f"{RESULTS}/tables/{table}.csv" for table in _figure.tables],
        output:
            report_png(
                _figure.name,
                _figure.category,
                caption="registered_figure",
                labels={"figure": _figure.label},
            ),
        log:
            f"{RESULTS}/logs/report/plot_{_figure.name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/report/plot_{_figure.name}.tsv"
        conda:
            "../../envs/report.yaml"
        threads: 1
        resources:
            **report_resources(),
        params:
            function=_figure.function,
            tables=list(_figure.tables),
            methods=figure_methods(_figure),
            labels=METHOD_LABELS,
            caption=_figure.caption_text,
        script:
            "../scripts/plot_figure.py"


rule plot_umap:
    input:
        lambda wildcards: [
            INTEGRATION.format(dataset=wildcards.dataset, method=method, repeat=0)
            for method in METHODS
        ],
    output:
        figure=report_png(
            "umap/{dataset}",
            "2. Embeddings",
            "UMAP per method",
            caption="umap",
            labels={"dataset": "{dataset}", "figure": "UMAP per method"},
        ),
        coords=f"{FIGURES}/umap/{{dataset}}_coords.npz",
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
        methods=METHODS,
        labels=METHOD_LABELS,
        settings=UMAP_SETTINGS,
        seed=SEED,
    script:
        "../scripts/plot_umap.py"


rule plot_umap_pseudotime:
    input:
        coords=rules.plot_umap.output.coords,
        preprocessed=preprocessed,
    output:
        report_png(
            "umap_pseudotime/{dataset}",
            "5. Downstream",
            "UMAP by true pseudotime",
            caption="umap_pseudotime",
            labels={"dataset": "{dataset}", "figure": "UMAP by true pseudotime"},
        ),
    log:
        f"{RESULTS}/logs/report/plot_umap_pseudotime/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/plot_umap_pseudotime/{{dataset}}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(runtime=30, mem_mb=4000),
    params:
        labels=METHOD_LABELS,
        pseudotime_key=lambda wildcards: pseudotime_key(wildcards.dataset),
    script:
        "../scripts/plot_umap_pseudotime.py"


rule plot_umap_epochs:
    input:
        lambda wildcards: INTEGRATION.format(
            dataset=wildcards.dataset, method=wildcards.method, repeat=0
        ),
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
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(runtime=30, mem_mb=4000),
    params:
        settings=UMAP_SETTINGS,
        seed=SEED,
        label=lambda wildcards: METHOD_LABELS[wildcards.method],
    script:
        "../scripts/plot_umap_epochs.py"
