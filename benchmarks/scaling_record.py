"""Keep a scaling experiment's finished runs as data (issue 24 item 3).

    python benchmarks/scaling_record.py /tmp/scal/main/results_scaling \
        --out benchmarks/results/scaling_2cores.csv --note "load 8-10: other jobs shared the cores"

The scaling experiment (`snakemake scaling`, config `scaling:`) runs in parts: a few
methods at a time, resumed later. This script reads every finished integrate run of the
``scaling_<n>`` datasets in a results folder (result file + Snakemake benchmark record,
through ``claire.bench.tables.scaling``), merges them with the rows already in ``--out``
(a run measured again replaces its old row), adds where and when each row was measured
(machine, date, commit of the checkout that ran it, ``--note``), writes the CSV and its
log-log figure next to it (``.png``), and prints the fitted exponents (time: the
method's own wall time; memory: the job's peak RSS; CPU: the job's CPU seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from claire.bench.tables.scaling import exponents, scaling_table  # noqa: E402

KEY = ["method", "cells", "repeat"]


def finished_runs(results: Path) -> tuple[list[Path], list[Path]]:
    """Result files of the scaling datasets that have a benchmark record, and those records."""
    found = sorted((results / "integration").glob("scaling_*/*/rep*.h5ad"))
    found = [p for p in found if not p.parent.parent.name == "scaling_source"]
    pairs = [(p, results / "benchmarks" / "integrate" / p.relative_to(results / "integration"))
             for p in found]  # fmt: skip
    pairs = [(p, b.with_suffix(".tsv")) for p, b in pairs if b.with_suffix(".tsv").exists()]
    return [p for p, _ in pairs], [b for _, b in pairs]


def provenance(results: Path, note: str) -> dict[str, str]:
    """Machine, date and commit of the checkout that holds ``results``."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(results.parent), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    machine = f"{platform.node() or 'host'}: {os.cpu_count()} cores, {platform.machine()}"
    return {"machine": machine, "date": dt.date.today().isoformat(), "commit": commit,
            "note": note}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results folder of a scaling run")
    parser.add_argument("--out", type=Path, required=True, help="CSV to create or extend")
    parser.add_argument("--note", default="", help="conditions of the measurement")
    args = parser.parse_args(argv)

    results_paths, bench_paths = finished_runs(args.results)
    if not results_paths:
        sys.exit(f"{args.results}: no finished scaling runs (integration/scaling_<n>/...)")
    new = scaling_table(results_paths, bench_paths)
    for column, value in provenance(args.results, args.note).items():
        new[column] = value
    if args.out.exists():
        old = pd.read_csv(args.out, keep_default_na=False, na_values=[""])
        kept = old.merge(new[KEY], on=KEY, how="left", indicator=True)
        old = old[(kept["_merge"] == "left_only").to_numpy()]
        new = pd.concat([old, new], ignore_index=True)
    new = new.sort_values(KEY, kind="stable").reset_index(drop=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    new.to_csv(args.out, index=False)
    print(f"{args.out}: {len(new)} runs ({len(results_paths)} from {args.results})")

    from claire.bench.plots.scaling import plot_scaling

    plot_scaling(new).savefig(args.out.with_suffix(".png"), dpi=120)
    slopes = {c: exponents(new, c) for c in ("seconds", "max_rss_mb", "cpu_seconds")}
    print(f"{'method':22s} {'sizes':>16s} {'time exp':>9s} {'memory exp':>11s} {'CPU exp':>8s}")
    for method, runs in new.groupby("method", sort=True):
        sizes = f"{runs['cells'].min()}-{runs['cells'].max()}"
        print(f"{method:22s} {sizes:>16s} {slopes['seconds'].get(method, float('nan')):9.2f} "
              f"{slopes['max_rss_mb'].get(method, float('nan')):11.2f} "
              f"{slopes['cpu_seconds'].get(method, float('nan')):8.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
