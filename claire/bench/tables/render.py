"""Rendering of the benchmark tables: benchmark.md and small standalone HTML pages.

benchmark.md shows, per dataset, the raw metrics and scores of each method (mean ± sd over
repeats when a method ran more than once), the F1 ranking by mean F1 and an F1 overview.
Methods that read cell-type labels carry the registry's mark (†) and a footnote says so.
The HTML pages show any table, rounded, inside the Snakemake report.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from claire.bench.contract import STATUS_OK
from claire.bench.registry.methods import LABEL_USE_MARK
from claire.bench.registry.metrics import metric_label, metric_names, metric_registry
from claire.bench.tables.scores import AGGREGATE_SCORES, summary_table

LABEL_NOTE = f"{LABEL_USE_MARK} uses cell-type labels (not unsupervised)"
FAILED = "failed"
BEYOND_HEADING = "## Downstream and newer metrics (not in F1)"


# ---- markdown ------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _cell(value: object, digits: int = 3) -> str:
    if _missing(value):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _mean_sd(mean: object, sd: object, several: bool, digits: int = 3) -> str:
    """ "mean ± sd" for a method with several repeats (sd known), else the mean alone."""
    if several and not _missing(mean) and not _missing(sd):
        return f"{mean:.{digits}f} ± {sd:.{digits}f}"
    return _cell(mean, digits)


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def marked_label(label: str, uses_labels: bool) -> str:
    """The display label with the label-use mark (added once) for a label-informed method."""
    return f"{label}{LABEL_USE_MARK}" if uses_labels and LABEL_USE_MARK not in label else label


def _labelled(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(
        shown=[marked_label(str(r.label), bool(r.uses_labels)) for r in summary.itertuples()]
    )


def _raw_section(
    raw: pd.DataFrame,
    summary: pd.DataFrame,
    beyond: bool = False,
    heading: str = "## Raw metrics",
) -> list[str]:
    """Raw metrics per dataset: the paper's (with the scores) or, ``beyond``, the downstream
    and newer metrics (those with a value)."""
    metrics = [
        m
        for m in metric_names(extended=True)
        if m in raw.columns and (m in metric_registry().beyond_paper) == beyond
    ]
    if beyond:
        metrics = [m for m in metrics if raw[m].notna().any()]
        if not metrics:
            return []
    columns = [*metrics, *([] if beyond else AGGREGATE_SCORES)]
    header = ["method", *(metric_label(c) for c in columns)]
    lines = ["", heading]
    for dataset, group in summary.sort_values(["dataset", "method"]).groupby("dataset"):
        lines += ["", f"### {dataset}", ""]
        rows = []
        for r in group.itertuples():
            if r.n_ok == 0:
                rows.append([r.shown, *([FAILED] * len(columns))])
                continue
            several = r.n_repeats > 1
            rows.append(
                [
                    r.shown,
                    *(
                        _mean_sd(getattr(r, f"{c}_mean"), getattr(r, f"{c}_sd"), several)
                        for c in columns
                    ),
                ]
            )
        lines += _markdown_table(header, rows)
        if not beyond:
            lines += _failures(raw[raw["dataset"] == dataset], group)
    return lines


def _failures(raw: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    failed = raw[raw["status"] != STATUS_OK]
    if failed.empty:
        return []
    shown = dict(zip(summary["method"], summary["shown"], strict=True))
    repeats = dict(zip(summary["method"], summary["n_repeats"], strict=True))
    lines = [""]
    for r in failed.itertuples():
        run = shown[r.method] + (f" (repeat {r.repeat})" if repeats[r.method] > 1 else "")
        lines.append(f"- {_cell(run)} failed: {_cell(r.error) or 'no message'}")
    return lines


def _ranking_section(summary: pd.DataFrame) -> list[str]:
    lines = ["", "## F1 ranking"]
    for dataset, group in summary.groupby("dataset", sort=True):
        lines += ["", f"### {dataset}", ""]
        rows = []
        for r in group.itertuples():
            several = r.n_repeats > 1
            rows.append(
                [
                    r.rank if r.n_ok else FAILED,
                    r.shown,
                    r.n_ok if several else "",
                    *(
                        _mean_sd(getattr(r, f"{c}_mean"), getattr(r, f"{c}_sd"), several)
                        for c in AGGREGATE_SCORES
                    ),
                ]
            )
        header = ["rank", "method", "repeats ok", *(metric_label(c) for c in AGGREGATE_SCORES)]
        if (group["n_repeats"] <= 1).all():
            header.pop(2)
            rows = [[row[0], row[1], *row[3:]] for row in rows]
        lines += _markdown_table(header, rows)
    return lines


def _overview(summary: pd.DataFrame) -> list[str]:
    shown = summary.drop_duplicates("method").set_index("method")["shown"]
    wide = summary.pivot(index="method", columns="dataset", values="f1_mean")
    ranks = summary.pivot(index="method", columns="dataset", values="rank").astype(float)
    datasets = list(wide.columns)
    wide["mean F1"] = wide.mean(axis=1, skipna=True)
    wide["mean rank"] = ranks.mean(axis=1, skipna=True)
    wide = wide.reset_index().sort_values(["mean rank", "method"], kind="stable")
    failed = set(summary.loc[summary["n_ok"] == 0, ["method", "dataset"]].itertuples(index=False))
    rows = []
    for row in wide.itertuples(index=False):
        method = row[0]
        cells = [
            FAILED if (method, dataset) in failed else value
            for dataset, value in zip(datasets, row[1 : 1 + len(datasets)], strict=True)
        ]
        rows.append([shown[method], *cells, row[-2], row[-1]])
    return _markdown_table(["method", *datasets, "mean F1", "mean rank"], rows)


def benchmark_markdown(
    raw: pd.DataFrame,
    scores: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
    uses_labels: Collection[str] | None = None,
) -> str:
    """benchmark.md: raw metrics per dataset (like Table S1), F1 rankings, F1 overview, then
    the downstream and newer metrics (label transfer, trajectory, BRAS, ...), not in F1.

    ``summary`` (summary.csv) is computed from ``raw`` and ``scores`` when not given.
    """
    if summary is None:
        summary = summary_table(raw, scores, labels, uses_labels)
    summary = _labelled(summary)
    several = bool((summary["n_repeats"] > 1).any())
    lines = [
        "# Benchmark results",
        "",
        "Raw metrics per dataset and method (Table S1 of the CLAIRE paper), then the",
        "per-dataset F1 ranking. Scores are min-max scaled across the runs on a dataset,",
        "so they only compare those runs; raw values are comparable across benchmarks.",
        "kBET is scETM's chi-square acceptance rate (k = 15, cell included).",
    ]
    if several:
        lines += [
            "Methods run several times (one seed per repeat) show mean ± sd over their",
            "successful repeats; methods are ranked by mean F1.",
        ]
    lines += _raw_section(raw, summary)
    lines += _ranking_section(summary)
    lines += ["", "## F1 by dataset", ""]
    lines += _overview(summary)
    lines += _raw_section(raw, summary, beyond=True, heading=BEYOND_HEADING)
    if summary["uses_labels"].astype(bool).any():
        lines += ["", LABEL_NOTE]
    return "\n".join(lines) + "\n"


# ---- HTML ------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 12px; color: #222; }
h1 { font-size: 15px; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f2f2f2; position: sticky; top: 0; }
td.text, th.text { text-align: left; }
tr:hover td { background: #fafafa; }
p.note { color: #666; }
"""


def table_html(table: pd.DataFrame, title: str, digits: int = 4) -> str:
    """A complete HTML page showing ``table`` with numbers rounded to ``digits`` decimals.

    Missing values show as "n/a"; text columns are left-aligned. An empty table gives a
    page that says so.
    """
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    text_columns = {c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])}
    header = "".join(_html_cell("th", c, c in text_columns) for c in table.columns)
    rows = [
        "<tr>"
        + "".join(
            _html_cell("td", _format(value, digits), column in text_columns)
            for column, value in zip(table.columns, values, strict=True)
        )
        + "</tr>"
        for values in table.itertuples(index=False, name=None)
    ]
    body = (
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="note">The table has no rows in this run.</p>'
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>"
        f'<p class="note">{len(table)} rows; numbers rounded to {digits} decimals.</p>'
        f"{body}</body></html>\n"
    )


def _html_cell(tag: str, text: object, is_text: bool) -> str:
    css = ' class="text"' if is_text else ""
    return f"<{tag}{css}>{html.escape(str(text))}</{tag}>"


def _format(value: object, digits: int) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
