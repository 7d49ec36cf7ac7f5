"""Snakemake adapter: metrics records -> raw_metrics.csv, scores.csv, summary.csv, benchmark.md."""

import logging

from claire.bench.contract import STATUS_OK
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.tables.render import benchmark_markdown
from claire.bench.tables.scores import load_records, raw_table, score_table, summary_table


def main() -> None:
    params = snakemake.params
    raw = raw_table(load_records(snakemake.input.metrics), extended=params.extended)
    scores = score_table(raw)
    summary = summary_table(raw, scores, labels=params.labels, uses_labels=params.uses_labels)
    n_failed = int((raw["status"] != STATUS_OK).sum())
    logging.getLogger("claire.workflow").info(
        "%d runs (dataset, method, repeat) scored, %d failed", len(raw), n_failed
    )
    write_text_atomic(raw.to_csv(index=False), snakemake.output.raw)
    write_text_atomic(scores.to_csv(index=False), snakemake.output.scores)
    write_text_atomic(summary.to_csv(index=False), snakemake.output.summary)
    write_text_atomic(benchmark_markdown(raw, scores, summary), snakemake.output.markdown)


run_logged(main, snakemake.log[0])
