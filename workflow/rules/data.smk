"""Acquire each dataset and write it in the standard raw contract."""

# ---------------------------------------------------------------------------------------
# Downloads (issue 3): every file of a `source: {type: download}` dataset is fetched into
# {downloads_dir}/{dataset}/ by one download_dataset job (resume, retries, mirrors,
# checksum; claire.bench.download). A file placed there by hand is used as it is, with no
# network access: that is how to run offline. The raw_data rule takes these files, by
# role, as its input (DOWNLOAD_INPUTS).
# ---------------------------------------------------------------------------------------
DOWNLOADS_DIR = config["downloads_dir"]
DOWNLOAD_DATASETS = {
    name: spec
    for name, spec in DATASETS.items()
    if spec["source"]["type"] == "download"
}

# The fetched files of each download dataset, by role: inputs of raw_data.
DOWNLOAD_INPUTS = {
    name: {
        role: f"{DOWNLOADS_DIR}/{name}/{f['filename']}"
        for role, f in spec["source"]["files"].items()
    }
    for name, spec in DOWNLOAD_DATASETS.items()
}
DOWNLOAD_FILENAMES = sorted(
    {Path(path).name for files in DOWNLOAD_INPUTS.values() for path in files.values()}
)


rule download_dataset:
    output:
        # update(): a re-run keeps the file (and verifies it) instead of deleting it first
        update(f"{DOWNLOADS_DIR}/{{dataset}}/{{filename}}"),
    log:
        f"{RESULTS}/logs/download_dataset/{{dataset}}/{{filename}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_dataset/{{dataset}}/{{filename}}.tsv"
    wildcard_constraints:
        dataset=alternatives(DOWNLOAD_DATASETS),
        filename=alternatives(DOWNLOAD_FILENAMES),
    localrule: True
    conda:
        "../../envs/bench.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=360,
    script:
        "../scripts/download_dataset.py"


# ------------------------------------- end of downloads --------------------------------


rule raw_data:
    input:
        unpack(raw_inputs),
        unpack(lambda wildcards: DOWNLOAD_INPUTS.get(wildcards.dataset, {})),
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
        spec=lambda wildcards: ALL_DATASETS[wildcards.dataset],
        seed=SEED,
    script:
        "../scripts/prepare_raw.py"
