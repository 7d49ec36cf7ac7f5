"""Results tables as small standalone HTML pages, readable inside the Snakemake report."""

from __future__ import annotations

import html

import pandas as pd

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
    header = "".join(_cell("th", c, c in text_columns) for c in table.columns)
    rows = [
        "<tr>"
        + "".join(
            _cell("td", _format(value, digits), column in text_columns)
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


def _cell(tag: str, text: object, is_text: bool) -> str:
    css = ' class="text"' if is_text else ""
    return f"<{tag}{css}>{html.escape(str(text))}</{tag}>"


def _format(value: object, digits: int) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
