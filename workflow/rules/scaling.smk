"""The scaling experiment (paper Supplementary Tables S2/S3): `snakemake --cores N scaling`.

The `scaling.source` dataset (default run: the simulator at paper scale; paper.yaml:
Tabula Muris) is subsampled, stratified by batch x cell type, to each of `scaling.sizes`
cells (datasets `scaling_<n>`); every method of `scaling.methods` runs on each size as an
ordinary integrate job, under the time and memory budget of the block. A run that breaks
the budget is recorded as over budget and the method's larger sizes as skipped (each size
waits for the next smaller one). results/tables/scaling.csv and the figure
results/figures/scaling.{png,pdf} collect wall time (the method's own, data reading
excluded), peak memory and CPU time.
"""


rule scaling_table:
    input:
        results=scaling_results(),
        benchmarks=run_targets(
            INTEGRATE_BENCHMARK, SCALING_METHODS, list(SCALING_DATASETS)
        ),
    output:
        SCALING_TABLE,
    log:
        f"{RESULTS}/logs/report/scaling_table.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/scaling_table.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        **report_resources(),
    script:
        "../scripts/scaling_table.py"


rule scaling:
    input:
        scaling_outputs(),
    localrule: True
