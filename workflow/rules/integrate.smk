"""Integration: every run (method x dataset x repeat) through one door.

rule integrate writes results/integration/{dataset}/{method}/rep{repeat}.h5ad with one
script for every runner; the registry entry of the method (config/methods.yaml) gives the
runner (python module, R script, the CLAIRE trainer, or a precomputed embedding), env,
threads, memory, runtime and whether it uses a GPU (resource `gpu`, which the profiles map
to GPU counts and partitions). The seed of repeat r is seed + r.
"""


rule integrate:
    input:
        unpack(integrate_extra_inputs),
        data=preprocessed,
    output:
        INTEGRATION,
    log:
        f"{RESULTS}/logs/integrate/{{dataset}}/{{method}}/rep{{repeat}}.log",
    benchmark:
        INTEGRATE_BENCHMARK
    conda:
        run_env
    threads: lambda wildcards: spec_of(wildcards.method).threads
    resources:
        # a retry (after an out-of-memory or time-limit kill) gets twice as much
        mem_mb=lambda wildcards, attempt: spec_of(wildcards.method).mem_mb * attempt,
        runtime=run_runtime,
        gpu=lambda wildcards: int(spec_of(wildcards.method).gpu),
    params:
        method=lambda wildcards: RUNS[wildcards.method][0],
        runner=lambda wildcards: spec_of(wildcards.method).runner,
        module=lambda wildcards: spec_of(wildcards.method).module or "",
        method_params=lambda wildcards: run_params(wildcards.method, wildcards.dataset),
        seed=lambda wildcards: SEED + int(wildcards.repeat),
        record_errors=RECORD_ERRORS,
        budget=run_budget,
    script:
        "../scripts/integrate.py"
