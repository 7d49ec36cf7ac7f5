"""Snakemake adapter: fetch one file of a download dataset into {downloads_dir}/{dataset}/.

The file's URLs, size and digest are read from the config (not from params), so editing
them, or the retry settings, never makes Snakemake delete and re-download a file.
"""

from pathlib import Path

from claire.bench.download import RetryPolicy, fetch, remote_file_named
from claire.bench.logs import run_logged


def main() -> None:
    target = Path(snakemake.output[0])
    source = snakemake.config["datasets"][snakemake.wildcards.dataset]["source"]
    remote = remote_file_named(source, target.name)
    fetch(remote, target.parent, policy=RetryPolicy.from_config(snakemake.config.get("download")))


run_logged(main, snakemake.log[0])
