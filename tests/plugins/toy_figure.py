"""A plug-in figure for the worked example (docs/adding-a-figure.md): the number of
finished repeats per method, from results/tables/scores.csv."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure


def repeats_per_method(
    tables: Mapping[str, pd.DataFrame], *, methods: Sequence[str], labels: Mapping[str, str]
) -> Figure:
    scores = tables["scores"]
    counts = scores[scores["status"] == "ok"].groupby("method").size()
    counts = counts.reindex(list(methods), fill_value=0)
    figure = Figure(figsize=(4, 3))
    ax = figure.subplots()
    ax.bar([labels.get(m, m) for m in counts.index], counts.to_numpy())
    ax.set_ylabel("finished repeats")
    return figure
