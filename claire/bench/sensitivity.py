"""CLAIRE hyper-parameter sensitivity grid (paper Fig. 4b): grid points and result table.

Light on purpose (the workflow imports it while parsing); the runs themselves are in
:mod:`claire.bench.sensitivity_run`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

SENSITIVITY_PARAMS = ("alpha", "knn", "eta")
SENSITIVITY_METRICS = ("basw", "kbet", "ari", "nmi")
SENSITIVITY_COLUMNS = ("dataset", "param", "value", "status", "error", *SENSITIVITY_METRICS)


def parse_value(param: str, text: str) -> int | float:
    """Grid value of ``param`` from its wildcard text (knn is an integer)."""
    if param not in SENSITIVITY_PARAMS:
        raise ValueError(f"unknown sensitivity parameter {param!r}; use {SENSITIVITY_PARAMS}")
    return int(text) if param == "knn" else float(text)


def sensitivity_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Records as a table sorted by dataset, parameter and value."""
    table = pd.DataFrame(list(records), columns=list(SENSITIVITY_COLUMNS))
    return table.sort_values(["dataset", "param", "value"], kind="stable").reset_index(drop=True)
