"""Benchmark tables: what the workflow writes to results/tables and the report shows.

:mod:`~claire.bench.tables.scores` (raw metrics, min-max scores, F1, ranks, repeat summary,
training curves), :mod:`~claire.bench.tables.render` (benchmark.md, HTML pages),
:mod:`~claire.bench.tables.collect` (seed refinement, runtime, embeddings for UMAPs) and
:mod:`~claire.bench.tables.sensitivity` (the hyper-parameter grid). Metric identity comes
from :mod:`claire.bench.registry`, result files are read through
:mod:`claire.bench.contract`; nothing here imports the metrics or methods packages.
"""
