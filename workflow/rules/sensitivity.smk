"""CLAIRE hyper-parameter sensitivity (paper Fig. 4b), optional (sensitivity.enabled).

Each grid point is an ordinary run `<method>__<param>_<value>` (common.smk): it goes
through rule integrate and rule compute_metrics like any method, then
aggregate_sensitivity gathers the metrics records into results/tables/sensitivity.csv.
"""


rule aggregate_sensitivity:
    input:
        records=sensitivity_records(),
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
