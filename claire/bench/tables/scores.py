"""Benchmark tables: raw metrics, min-max scores, S_batch, S_bio, F1, ranks, repeat summary.

One metrics record per run (dataset, method, repeat). Per dataset, each scored metric is
min-max scaled across every (method, repeat) run of that dataset (paper section 3.2,
after Luecken et al. 2022); S_batch = mean of the scaled batch metrics, S_bio = mean of the
scaled bio metrics (which ones: :mod:`claire.bench.registry`), F1 = 2 S_batch S_bio /
(S_batch + S_bio), and runs are ranked by F1 (1 = best, ties share the better rank). With
one repeat per method this is the paper's table. Conventions for degenerate input:

* a failed run keeps its row with status "failed", NaN scores and no rank, and is left
  out of the scaling, so the other runs are scored as if it were absent;
* when every scored run has the same value of a metric (including a single scored run)
  the metric cannot separate them and each gets 1.0, never a division by zero;
* a metric that is NaN (e.g. bASW when no cell type is shared by two batches) is left out
  of the means; a score with no defined part is NaN and the run gets no rank;
* F1 is 0 when S_batch + S_bio = 0.

:func:`summary_table` reduces the repeats of a method to mean and standard deviation
(sample sd, NaN with one successful repeat) over its successful repeats and ranks the
methods by mean F1. Raw values are kept in their own table: min-max scores only compare
the runs of one benchmark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from claire.bench.contract import STATUS_OK
from claire.bench.registry.methods import display_name
from claire.bench.registry.methods import uses_labels as method_uses_labels
from claire.bench.registry.metrics import metric_names, metric_registry

RUN_KEYS = ("dataset", "method", "repeat")
ID_COLUMNS = (*RUN_KEYS, "status", "error", "n_cells")
AGGREGATE_SCORES = ("s_batch", "s_bio", "f1")
SUMMARY_ID_COLUMNS = ("dataset", "method", "label", "uses_labels", "n_repeats", "n_ok", "rank")
CURVE_ID_COLUMNS = RUN_KEYS


def score_columns() -> list[str]:
    """Columns of scores.csv (the registry's scored metrics, read at call time)."""
    scaled = [f"{m}_scaled" for m in metric_registry().scored]
    return [*RUN_KEYS, "status", *scaled, *AGGREGATE_SCORES, "rank"]


def raw_columns(extended: bool) -> list[str]:
    """Columns of raw_metrics.csv."""
    return [*ID_COLUMNS, *metric_names(extended), "best_resolution"]


def load_records(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Read metrics JSON records; a file that is not a record raises ValueError."""
    records = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        missing = {"dataset", "method", "status"} - set(record)
        if missing:
            raise ValueError(f"{path}: not a metrics record (missing {sorted(missing)})")
        records.append(record)
    return records


def raw_table(records: Sequence[Mapping], extended: bool = False) -> pd.DataFrame:
    """One row per (dataset, method, repeat) with every raw value; absent values are NaN.

    A record without ``repeat`` is repeat 0; two records of the same run raise ValueError.
    """
    columns = raw_columns(extended)
    rows = [{c: record.get(c, np.nan) for c in columns} for record in records]
    for row, record in zip(rows, records, strict=True):
        row["repeat"] = int(record.get("repeat", 0))
    table = pd.DataFrame(rows, columns=columns)
    table["repeat"] = table["repeat"].astype(int)
    table["error"] = table["error"].fillna("").astype(str)
    numeric = [c for c in columns if c not in (*RUN_KEYS, "status", "error")]
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce")
    duplicated = table.duplicated(list(RUN_KEYS))
    if duplicated.any():
        runs = table.loc[duplicated, list(RUN_KEYS)].values.tolist()
        raise ValueError(f"duplicated (dataset, method, repeat) records: {runs}")
    return table.sort_values(list(RUN_KEYS), kind="stable").reset_index(drop=True)


def without_controls(raw: pd.DataFrame, controls: Collection[str]) -> pd.DataFrame:
    """The runs of the paper's tables: every run but those of the control methods, which
    never enter the paper's min-max (they have their own, control-scaled table)."""
    return raw[~raw["method"].isin(list(controls))].reset_index(drop=True)


def min_max(values: pd.Series) -> pd.Series:
    """Scale to [0, 1] over the non-NaN values; all-equal values all become 1.0."""
    low, high = values.min(skipna=True), values.max(skipna=True)
    if pd.isna(low):
        return values.astype(float)
    if high == low:
        return values.where(values.isna(), 1.0).astype(float)
    return (values - low) / (high - low)


def f1_score(s_batch: pd.Series, s_bio: pd.Series) -> pd.Series:
    """Harmonic mean of S_batch and S_bio (0 when both are 0, NaN when either is NaN)."""
    total = s_batch + s_bio
    f1 = 2 * s_batch * s_bio / total.where(total != 0)
    return f1.mask((total == 0) & s_batch.notna() & s_bio.notna(), 0.0)


def rank_by(values: pd.Series) -> pd.Series:
    """1 = highest value, ties share the better rank, NaN gets no rank."""
    return values.rank(ascending=False, method="min").astype("Int64")


def _score_dataset(group: pd.DataFrame) -> pd.DataFrame:
    ok = group["status"] == STATUS_OK
    out = group[[*RUN_KEYS, "status"]].copy()
    registry = metric_registry()
    for metric in registry.scored:
        out[f"{metric}_scaled"] = np.nan
        out.loc[ok, f"{metric}_scaled"] = min_max(group.loc[ok, metric])
    out["s_batch"] = out[[f"{m}_scaled" for m in registry.batch]].mean(axis=1, skipna=True)
    out["s_bio"] = out[[f"{m}_scaled" for m in registry.bio]].mean(axis=1, skipna=True)
    out["f1"] = f1_score(out["s_batch"], out["s_bio"])
    out.loc[~ok, list(AGGREGATE_SCORES)] = np.nan
    out["rank"] = rank_by(out["f1"])
    return out


def _sorted_by_rank(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    order = table.assign(_r=table["rank"].astype("float").fillna(np.inf))
    order = order.sort_values(["dataset", "_r", *keys], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def score_table(raw: pd.DataFrame) -> pd.DataFrame:
    """scores.csv: per run, scaled metrics, S_batch, S_bio, F1 and the rank in its dataset."""
    if raw.empty:
        return pd.DataFrame(columns=score_columns())
    parts = [_score_dataset(group) for _, group in raw.groupby("dataset", sort=True)]
    scores = pd.concat(parts, ignore_index=True)[score_columns()]
    return _sorted_by_rank(scores, ["method", "repeat"])


def repeat_stats(
    table: pd.DataFrame, columns: Sequence[str], by: Sequence[str] = ("dataset", "method")
) -> pd.DataFrame:
    """Mean and sample sd (``<c>_mean``, ``<c>_sd``; sd NaN for one value) of ``columns``
    per group of ``by``, over the rows given (NaN values left out); groups in sorted order."""
    grouped = table.groupby(list(by), sort=True)[list(columns)]
    means, sds = grouped.mean(), grouped.std(ddof=1)
    stats = pd.concat(
        {
            f"{c}_{kind}": frame[c]
            for c in columns
            for kind, frame in (("mean", means), ("sd", sds))
        },
        axis=1,
    )
    return stats.reset_index()


def summary_metric_columns(raw: pd.DataFrame) -> list[str]:
    """Metric and score columns that summary.csv reports (registry order)."""
    metrics = [m for m in metric_names(extended=True) if m in raw.columns]
    return [*AGGREGATE_SCORES, *metrics]


def summary_table(
    raw: pd.DataFrame,
    scores: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    uses_labels: Collection[str] | None = None,
) -> pd.DataFrame:
    """summary.csv: one row per (dataset, method) over its repeats.

    Columns: dataset, method, label (display name), uses_labels, n_repeats, n_ok, rank (by
    mean F1 in the dataset), then ``<x>_mean`` and ``<x>_sd`` of F1, S_batch, S_bio and each
    raw metric over the successful repeats. ``labels`` / ``uses_labels`` default to the
    method registry.
    """
    columns = summary_metric_columns(raw)
    header = [*SUMMARY_ID_COLUMNS, *(f"{c}_{k}" for c in columns for k in ("mean", "sd"))]
    if raw.empty:
        return pd.DataFrame(columns=header)
    runs = raw.merge(scores[[*RUN_KEYS, *AGGREGATE_SCORES]], on=list(RUN_KEYS), how="left")
    counts = runs.groupby(["dataset", "method"], sort=True).agg(
        n_repeats=("repeat", "size"), n_ok=("status", lambda s: int((s == STATUS_OK).sum()))
    )
    stats = repeat_stats(runs[runs["status"] == STATUS_OK], columns)
    summary = counts.reset_index().merge(stats, on=["dataset", "method"], how="left")
    summary["label"] = [_label(m, labels) for m in summary["method"]]
    summary["uses_labels"] = [
        m in uses_labels if uses_labels is not None else method_uses_labels(m)
        for m in summary["method"]
    ]
    summary["rank"] = summary.groupby("dataset")["f1_mean"].transform(rank_by).astype("Int64")
    summary = summary.reindex(columns=header)
    return _sorted_by_rank(summary, ["method"])


def _label(method: str, labels: Mapping[str, str] | None) -> str:
    if labels is not None and method in labels:
        return str(labels[method])
    return display_name(method)


def curve_table(curves: Mapping[tuple[str, str, int], pd.DataFrame]) -> pd.DataFrame:
    """training_curves.csv: the per-run curves (keys (dataset, method, repeat)) stacked."""
    parts = [
        frame.assign(dataset=dataset, method=method, repeat=int(repeat))
        for (dataset, method, repeat), frame in sorted(curves.items())
        if not frame.empty
    ]
    if not parts:
        return pd.DataFrame(columns=[*CURVE_ID_COLUMNS, "epoch", *metric_registry().curve])
    table = pd.concat(parts, ignore_index=True)
    value_columns = [c for c in table.columns if c not in CURVE_ID_COLUMNS]
    return table[[*CURVE_ID_COLUMNS, *value_columns]]
