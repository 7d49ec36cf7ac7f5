"""A plug-in table for the worked example (docs/adding-a-figure.md): the number of finished
repeats per dataset and method, from results/tables/scores.csv."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def repeats_per_method(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    scores = tables["scores"]
    finished = scores[scores["status"] == "ok"]
    return finished.groupby(["dataset", "method"]).size().rename("repeats").reset_index()
