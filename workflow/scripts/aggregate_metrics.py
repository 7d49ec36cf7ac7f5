"""Snakemake adapter: metrics records -> raw_metrics.csv, scores.csv, benchmark.md."""

import logging

from claire.bench.aggregate import benchmark_markdown, load_records, raw_table, score_table
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged


def main() -> None:
    raw = raw_table(load_records(snakemake.input.metrics), extended=snakemake.params.extended)
    scores = score_table(raw)
    n_failed = int((raw["status"] != "ok").sum())
    logging.getLogger("claire.workflow").info(
        "%d (dataset, method) pairs scored, %d failed", len(raw), n_failed
    )
    write_text_atomic(raw.to_csv(index=False), snakemake.output.raw)
    write_text_atomic(scores.to_csv(index=False), snakemake.output.scores)
    write_text_atomic(benchmark_markdown(raw, scores), snakemake.output.markdown)


run_logged(main, snakemake.log[0])
