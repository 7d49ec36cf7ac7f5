"""Acquire each dataset and write it in the standard raw contract."""


rule raw_data:
    input:
        unpack(raw_inputs),
    output:
        f"{RESULTS}/data/{{dataset}}/raw.h5ad",
    log:
        f"{RESULTS}/logs/raw_data/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/raw_data/{{dataset}}.tsv"
    conda:
        "../../envs/bench.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        spec=lambda wildcards: DATASETS[wildcards.dataset],
        seed=SEED,
    script:
        "../scripts/prepare_raw.py"
