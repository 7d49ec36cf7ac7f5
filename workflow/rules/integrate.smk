"""Integration: every enabled method on every dataset -> results/integration/{dataset}/{method}.h5ad."""

ALL_TARGETS.extend(
    expand(
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
        dataset=list(DATASETS),
        method=list(METHODS),
    )
)


rule integrate_python:
    input:
        preprocessed,
    output:
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
    log:
        f"{RESULTS}/logs/integrate/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(methods_by_runner("python")),
    conda:
        method_env
    threads: method_threads
    resources:
        mem_mb=method_resource("mem_mb", 8000),
        runtime=method_resource("runtime", 60),
    params:
        module=lambda wildcards: METHODS[wildcards.method]["module"],
        method_params=lambda wildcards: METHODS[wildcards.method].get("params", {}),
        seed=SEED,
        record_errors=RECORD_ERRORS,
    script:
        "../scripts/integrate.py"
