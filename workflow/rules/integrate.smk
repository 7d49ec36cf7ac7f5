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


# ---- R methods (runner: rscript, e.g. Seurat) ------------------------------------------
# The preprocessed data goes to R through files (Matrix Market + CSV, see
# claire.bench.methods.seurat); Rscript runs the method's `script`; a failure is recorded
# in the result file like that of a Python method. Same log and benchmark folders.


rule integrate_rscript:
    input:
        data=preprocessed,
        script=lambda w: Path(workflow.basedir) / METHODS[w.method]["script"],
    output:
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
    log:
        f"{RESULTS}/logs/integrate/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(methods_by_runner("rscript")),
    conda:
        method_env
    threads: method_threads
    resources:
        mem_mb=method_resource("mem_mb", 16000),
        runtime=method_resource("runtime", 120),
    params:
        method_params=lambda wildcards: METHODS[wildcards.method].get("params", {}),
        seed=SEED,
        record_errors=RECORD_ERRORS,
    script:
        "../scripts/integrate_rscript.py"


# ---- end of R methods -------------------------------------------------------------------


# ---- CLAIRE (runner claire): the trainer rule, GPU-ready ---------------------------------
# Trains CLAIRE or an ablation (method params `variant`) per dataset. Hyper-parameters are
# the method's params overlaid with the dataset's `claire` block (per-dataset paper settings);
# the device is CUDA when the job sees a GPU, else CPU. resources.gpu comes from the method
# entry (0 by default; the local and SLURM profiles give this rule one GPU). The result
# carries obsm["X_emb_epoch_<e>"] snapshots and uns["claire"] besides the standard contract.


rule integrate_claire:
    input:
        preprocessed,
    output:
        f"{RESULTS}/integration/{{dataset}}/{{method}}.h5ad",
    log:
        f"{RESULTS}/logs/integrate/{{dataset}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/integrate/{{dataset}}/{{method}}.tsv"
    wildcard_constraints:
        method=alternatives(methods_by_runner("claire")),
    conda:
        method_env
    threads: method_threads
    resources:
        mem_mb=method_resource("mem_mb", 8000),
        runtime=method_resource("runtime", 120),
        gpu=method_resource("gpu", 0),
    params:
        # the method's params overlaid with the dataset's `claire` overrides
        claire_params=lambda wildcards: {
            **METHODS[wildcards.method].get("params", {}),
            **DATASETS[wildcards.dataset].get("claire", {}),
        },
        seed=SEED,
        record_errors=RECORD_ERRORS,
    script:
        "../scripts/run_claire.py"


# ---- end of CLAIRE ----------------------------------------------------------------------
