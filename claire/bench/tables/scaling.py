"""The scaling experiment's table (paper Supplementary Tables S2/S3) and its fitted exponents.

One row per run (method x size x repeat): ``seconds`` is the method's own wall time from
the result file (reading the data excluded, as in the paper), ``max_rss_mb`` and
``cpu_seconds`` come from the job's Snakemake benchmark record, ``status`` says whether it
finished, broke its time/memory budget or was skipped after breaking it on a smaller size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import STATUS_OK, parse_run_path
from claire.bench.tables.collect import read_benchmark

SCALING_COLUMNS = (
    "method",
    "cells",
    "repeat",
    "seconds",
    "max_rss_mb",
    "cpu_seconds",
    "status",
    "device",
    "error",
)


def scaling_record(result_path: str | os.PathLike, benchmark_path: str | os.PathLike) -> dict:
    """One row of scaling.csv from a run's result file and benchmark record."""
    _, method, repeat = parse_run_path(result_path, ".h5ad")
    result = ad.read_h5ad(result_path, backed="r")
    try:
        info = dict(result.uns.get("integration", {}))
        cells = int(result.n_obs)
    finally:
        result.file.close()
    bench = read_benchmark(benchmark_path)
    status = str(info.get("status", STATUS_OK))
    return {
        "method": method,
        "cells": cells,
        "repeat": repeat,
        "seconds": float(info.get("seconds", math.nan)) if status == STATUS_OK else math.nan,
        "max_rss_mb": bench["max_rss_mb"],
        "cpu_seconds": bench["cpu_time"],
        "status": status,
        "device": str(info.get("device", "cpu")),
        "error": str(info.get("error", "")),
    }


def scaling_table(
    result_paths: Sequence[str | os.PathLike], benchmark_paths: Sequence[str | os.PathLike]
) -> pd.DataFrame:
    """scaling.csv from the runs' result files and their benchmark records (same order)."""
    if len(result_paths) != len(benchmark_paths):
        raise ValueError("one benchmark record per result file is needed")
    rows = [scaling_record(r, b) for r, b in zip(result_paths, benchmark_paths, strict=True)]
    table = pd.DataFrame(rows, columns=list(SCALING_COLUMNS))
    return table.sort_values(["method", "cells", "repeat"], kind="stable").reset_index(drop=True)


def fitted_exponent(cells: Iterable[float], values: Iterable[float]) -> float:
    """Slope of log(value) against log(cells) by least squares (1.0 = linear growth);
    NaN with fewer than two distinct sizes."""
    frame = pd.DataFrame({"x": list(cells), "y": list(values)}).dropna()
    frame = frame[(frame["x"] > 0) & (frame["y"] > 0)]
    if frame["x"].nunique() < 2:
        return math.nan
    slope, _ = np.polyfit(np.log(frame["x"]), np.log(frame["y"]), 1)
    return float(slope)


def exponents(table: pd.DataFrame, column: str = "seconds") -> dict[str, float]:
    """Per method, the fitted exponent of ``column`` against cells over finished runs."""
    ok = table[table["status"] == STATUS_OK]
    return {
        str(method): fitted_exponent(group["cells"], group[column])
        for method, group in ok.groupby("method", sort=True)
    }
