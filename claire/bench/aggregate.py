"""Benchmark tables: raw metrics, min-max scores, S_batch, S_bio, F1, ranks, markdown.

Per dataset, each metric is min-max scaled across the methods that ran (paper section
3.2, after Luecken et al. 2022); S_batch = mean(scaled bASW, scaled kBET), S_bio =
mean(scaled ARI, scaled NMI), F1 = 2 S_batch S_bio / (S_batch + S_bio), and methods are
ranked by F1 (1 = best, ties share the better rank). Conventions for degenerate input:

* a failed method keeps its row with status "failed", NaN scores and no rank, and is
  left out of the scaling, so the other methods are scored as if it were absent;
* when every scored method has the same value of a metric (including a single scored
  method) the metric cannot separate them and each gets 1.0, never a division by zero;
* a metric that is NaN (e.g. bASW when no cell type is shared by two batches) is left
  out of the means; a score with no defined part is NaN and the method gets no rank;
* F1 is 0 when S_batch + S_bio = 0.

Raw values are kept in their own table: min-max scores only compare the methods run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from claire.bench.metrics.compute import CORE_METRICS, EXTENDED_METRICS

BATCH_METRICS = ("basw", "kbet")
BIO_METRICS = ("ari", "nmi")
ID_COLUMNS = ("dataset", "method", "status", "error", "n_cells")
SCORE_COLUMNS = (
    "dataset",
    "method",
    "status",
    *(f"{m}_scaled" for m in (*BATCH_METRICS, *BIO_METRICS)),
    "s_batch",
    "s_bio",
    "f1",
    "rank",
)
CURVE_ID_COLUMNS = ("dataset", "method")
LABELS = {
    "basw": "bASW",
    "kbet": "kBET",
    "ari": "ARI",
    "nmi": "NMI",
    "casw": "cASW",
    "ilisi": "iLISI",
    "clisi": "cLISI",
    "graph_conn": "graph conn.",
    "isolated_labels": "isolated labels",
    "pcr": "PCR",
    "s_batch": "S_batch",
    "s_bio": "S_bio",
    "f1": "F1",
}


def raw_columns(extended: bool) -> list[str]:
    """Columns of raw_metrics.csv."""
    metrics = [*CORE_METRICS, *(EXTENDED_METRICS if extended else ())]
    return [*ID_COLUMNS, *metrics, "best_resolution"]


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
    """One row per (dataset, method) with every raw value; absent values are NaN."""
    columns = raw_columns(extended)
    rows = [{c: record.get(c, np.nan) for c in columns} for record in records]
    table = pd.DataFrame(rows, columns=columns)
    table["error"] = table["error"].fillna("").astype(str)
    numeric = [c for c in columns if c not in ("dataset", "method", "status", "error")]
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce")
    duplicated = table.duplicated(["dataset", "method"])
    if duplicated.any():
        pairs = table.loc[duplicated, ["dataset", "method"]].values.tolist()
        raise ValueError(f"duplicated (dataset, method) records: {pairs}")
    return table.sort_values(["dataset", "method"], kind="stable").reset_index(drop=True)


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


def _score_dataset(group: pd.DataFrame) -> pd.DataFrame:
    ok = group["status"] == "ok"
    out = group[["dataset", "method", "status"]].copy()
    for metric in (*BATCH_METRICS, *BIO_METRICS):
        out[f"{metric}_scaled"] = np.nan
        out.loc[ok, f"{metric}_scaled"] = min_max(group.loc[ok, metric])
    out["s_batch"] = out[[f"{m}_scaled" for m in BATCH_METRICS]].mean(axis=1, skipna=True)
    out["s_bio"] = out[[f"{m}_scaled" for m in BIO_METRICS]].mean(axis=1, skipna=True)
    out["f1"] = f1_score(out["s_batch"], out["s_bio"])
    out.loc[~ok, ["s_batch", "s_bio", "f1"]] = np.nan
    out["rank"] = out["f1"].rank(ascending=False, method="min").astype("Int64")
    return out


def score_table(raw: pd.DataFrame) -> pd.DataFrame:
    """scores.csv: per dataset, scaled metrics, S_batch, S_bio, F1 and rank."""
    if raw.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    parts = [_score_dataset(group) for _, group in raw.groupby("dataset", sort=True)]
    scores = pd.concat(parts, ignore_index=True)
    order = scores.assign(_r=scores["rank"].astype("float").fillna(np.inf))
    order = order.sort_values(["dataset", "_r", "method"], kind="stable")
    return scores.loc[order.index, list(SCORE_COLUMNS)].reset_index(drop=True)


def curve_table(curves: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """training_curves.csv: the per-(dataset, method) curves stacked, ids first."""
    parts = [
        frame.assign(dataset=dataset, method=method)
        for (dataset, method), frame in sorted(curves.items())
        if not frame.empty
    ]
    if not parts:
        return pd.DataFrame(columns=[*CURVE_ID_COLUMNS, "epoch", "basw", "kbet", "ari", "nmi"])
    table = pd.concat(parts, ignore_index=True)
    value_columns = [c for c in table.columns if c not in CURVE_ID_COLUMNS]
    return table[[*CURVE_ID_COLUMNS, *value_columns]]


def _cell(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def benchmark_markdown(raw: pd.DataFrame, scores: pd.DataFrame) -> str:
    """benchmark.md: raw metrics per dataset (like Table S1), F1 rankings, F1 overview."""
    metrics = [c for c in (*CORE_METRICS, *EXTENDED_METRICS) if c in raw.columns]
    lines = [
        "# Benchmark results",
        "",
        "Raw metrics per dataset and method (Table S1 of the CLAIRE paper), then the",
        "per-dataset F1 ranking. Scores are min-max scaled across the methods that ran on",
        "a dataset, so they only compare those methods; raw values are comparable across",
        "runs. kBET is scETM's chi-square acceptance rate (k = 15, cell included).",
        "",
        "## Raw metrics",
    ]
    merged = raw.merge(scores[["dataset", "method", "s_batch", "s_bio", "f1", "rank"]], how="left")
    for dataset, group in merged.groupby("dataset", sort=True):
        lines += ["", f"### {dataset}", ""]
        header = ["method", *(LABELS[m] for m in metrics), "S_batch", "S_bio", "F1"]
        rows = []
        for _, row in group.iterrows():
            if row["status"] != "ok":
                rows.append([row["method"], *(["failed"] * (len(header) - 1))])
            else:
                rows.append(
                    [row["method"], *(row[m] for m in (*metrics, "s_batch", "s_bio", "f1"))]
                )
        lines += _markdown_table(header, rows)
        failed = group[group["status"] != "ok"]
        if not failed.empty:
            lines.append("")
            lines += [
                f"- {r.method} failed: {_cell(r.error) or 'no message'}"
                for r in failed.itertuples()
            ]
    lines += ["", "## F1 ranking"]
    for dataset, group in scores.groupby("dataset", sort=True):
        lines += ["", f"### {dataset}", ""]
        rows = [
            [r.rank if r.status == "ok" else "failed", r.method, r.s_batch, r.s_bio, r.f1]
            for r in group.itertuples()
        ]
        lines += _markdown_table(["rank", "method", "S_batch", "S_bio", "F1"], rows)
    lines += ["", "## F1 by dataset", ""]
    lines += _overview(scores)
    return "\n".join(lines) + "\n"


def _overview(scores: pd.DataFrame) -> list[str]:
    wide = scores.pivot(index="method", columns="dataset", values="f1")
    ranks = scores.pivot(index="method", columns="dataset", values="rank").astype(float)
    wide["mean F1"] = wide.mean(axis=1, skipna=True)
    wide["mean rank"] = ranks.mean(axis=1, skipna=True)
    wide = wide.reset_index().sort_values(["mean rank", "method"], kind="stable")
    wide = wide.set_index("method")
    failed = scores[scores["status"] != "ok"].set_index(["method", "dataset"]).index
    rows = []
    for method, row in wide.iterrows():
        cells = [
            "failed" if (method, dataset) in failed else row[dataset]
            for dataset in wide.columns[:-2]
        ]
        rows.append([method, *cells, row["mean F1"], row["mean rank"]])
    return _markdown_table(["method", *wide.columns], rows)
