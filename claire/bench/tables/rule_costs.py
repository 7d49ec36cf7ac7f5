"""Where a run's time went: its Snakemake ``benchmark:`` records summed per rule.

Every compute rule writes a record under ``<results>/benchmarks/``: ``<rule>/...`` for most
rules, ``report/<rule>/...`` for the per-dataset report rules and
``report/<rule>.tsv`` for the one-job report rules (``plot_<figure>``, ``table_<table>``,
``collect_*``). :func:`rule_costs` maps each record to its rule and adds up jobs, wall
seconds, CPU seconds and the largest peak RSS (``benchmarks/rule_costs.py`` prints it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from claire.bench.tables.collect import read_benchmark

COLUMNS = ("rule", "jobs", "wall_s", "cpu_s", "max_rss_mb")
REPORT_DIR = "report"


def rule_of(record: Path, benchmarks: Path) -> str:
    """The rule that wrote ``record`` (a path under the ``benchmarks`` folder)."""
    parts = record.relative_to(benchmarks).parts
    if parts[0] != REPORT_DIR:
        return parts[0]
    if len(parts) == 2:
        return Path(parts[1]).stem
    return parts[1]


def rule_costs(results: str | os.PathLike) -> pd.DataFrame:
    """Jobs, summed wall and CPU seconds and peak RSS per rule of a results folder.

    Rows are sorted by CPU seconds, largest first; a final ``total`` row adds them up
    (its ``max_rss_mb`` is the largest of any job). A missing CPU time (Snakemake could
    not sample a very short job) counts as 0.
    """
    benchmarks = Path(results) / "benchmarks"
    records = sorted(benchmarks.rglob("*.tsv"))
    if not records:
        raise FileNotFoundError(f"no Snakemake benchmark records under {benchmarks}")
    rows = []
    for record in records:
        cost = read_benchmark(record)
        rows.append(
            {
                "rule": rule_of(record, benchmarks),
                "wall_s": cost["seconds"],
                "cpu_s": 0.0 if pd.isna(cost["cpu_time"]) else cost["cpu_time"],
                "max_rss_mb": cost["max_rss_mb"],
            }
        )
    jobs = pd.DataFrame(rows)
    table = (
        jobs.groupby("rule")
        .agg(
            jobs=("wall_s", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reset_index()
        .sort_values(["cpu_s", "rule"], ascending=[False, True])
    )
    total = {
        "rule": "total",
        "jobs": int(table["jobs"].sum()),
        "wall_s": table["wall_s"].sum(),
        "cpu_s": table["cpu_s"].sum(),
        "max_rss_mb": table["max_rss_mb"].max(),
    }
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    return table[list(COLUMNS)]


def compare(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two :func:`rule_costs` tables side by side (rules missing from one side: 0 jobs)."""
    merged = before.merge(after, on="rule", how="outer", suffixes=("_before", "_after"))
    counts = [c for c in merged.columns if c.startswith("jobs_")]
    merged[counts] = merged[counts].fillna(0).astype(int)
    body = merged[merged["rule"] != "total"].sort_values("cpu_s_after", ascending=False)
    return pd.concat([body, merged[merged["rule"] == "total"]], ignore_index=True)
