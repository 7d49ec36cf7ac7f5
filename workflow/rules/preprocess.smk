"""Preprocessing as in the paper: gene filter, normalise, log1p, HVGs across batches."""


rule preprocess:
    input:
        f"{RESULTS}/data/{{dataset}}/raw.h5ad",
    output:
        PREPROCESSED,
    log:
        f"{RESULTS}/logs/preprocess/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/preprocess/{{dataset}}.tsv"
    conda:
        "../../envs/bench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        n_hvg=lambda wildcards: ALL_DATASETS[wildcards.dataset]["n_hvg"],
        min_cells=lambda wildcards: ALL_DATASETS[wildcards.dataset][
            "min_cells_per_gene"
        ],
        integer_counts=lambda wildcards: ALL_DATASETS[wildcards.dataset][
            "integer_counts"
        ],
        not_log_transformed=lambda wildcards: ALL_DATASETS[wildcards.dataset][
            "not_log_transformed"
        ],
    script:
        "../scripts/preprocess.py"
