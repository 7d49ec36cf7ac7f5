"""Snakemake adapter: metrics records -> raw_metrics.csv (every run), scores.csv, summary.csv,
benchmark.md (the paper's F1, without the control methods), control_scaled.csv/.md."""

import logging

from claire.bench.contract import STATUS_OK
from claire.bench.io import write_text_atomic
from claire.bench.logs import run_logged
from claire.bench.registry.metrics import load_config_metrics
from claire.bench.tables.controls import (
    control_scaled_markdown,
    control_scaled_summary,
    control_scaled_table,
)
from claire.bench.tables.render import benchmark_markdown
from claire.bench.tables.scores import (
    load_records,
    raw_table,
    score_table,
    summary_table,
    without_controls,
)


def main() -> None:
    load_config_metrics(snakemake.config)  # plug-in metric modules of the config
    params = snakemake.params
    raw = raw_table(load_records(snakemake.input.metrics), extended=params.extended)
    paper = without_controls(raw, params.control_methods)
    scores = score_table(paper)
    summary = summary_table(paper, scores, labels=params.labels, uses_labels=params.uses_labels)
    scaled = control_scaled_table(raw, params.scaling_controls)
    scaled_summary = control_scaled_summary(scaled, summary, labels=params.labels)
    n_failed = int((raw["status"] != STATUS_OK).sum())
    logging.getLogger("claire.workflow").info(
        "%d runs (dataset, method, repeat) scored, %d failed", len(raw), n_failed
    )
    write_text_atomic(raw.to_csv(index=False), snakemake.output.raw)
    write_text_atomic(scores.to_csv(index=False), snakemake.output.scores)
    write_text_atomic(summary.to_csv(index=False), snakemake.output.summary)
    write_text_atomic(benchmark_markdown(paper, scores, summary), snakemake.output.markdown)
    write_text_atomic(scaled.to_csv(index=False), snakemake.output.control_scaled)
    write_text_atomic(scaled_summary.to_csv(index=False), snakemake.output.control_summary)
    write_text_atomic(
        control_scaled_markdown(scaled_summary, scaled), snakemake.output.control_markdown
    )


run_logged(main, snakemake.log[0])
