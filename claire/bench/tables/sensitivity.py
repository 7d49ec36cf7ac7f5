"""Hyper-parameter sensitivity grid (paper Fig. 4b): the table of its runs.

Each grid point is an ordinary run named ``<method>__<param>_<value>``
(:func:`claire.bench.experiments.sensitivity.run_name`) that goes through the integrate and
metrics rules;
:func:`sensitivity_table` turns the metrics records of those runs into one row per
(dataset, param, value) with the curve metrics of the registry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from claire.bench.contract import STATUS_OK
from claire.bench.experiments.sensitivity import RUN_SEPARATOR, SENSITIVITY_PARAMS, parse_value
from claire.bench.registry.metrics import metric_registry

__all__ = ["SENSITIVITY_PARAMS", "parse_run", "parse_value", "sensitivity_table"]
ID_COLUMNS = ("dataset", "param", "value", "status", "error")


def parse_run(method: str) -> tuple[str, str, int | float]:
    """(base method, param, value) of a grid run name ``<method>__<param>_<value>``."""
    base, separator, variant = method.partition(RUN_SEPARATOR)
    param, underscore, text = variant.rpartition("_")
    if not separator or not underscore or not base or not param:
        raise ValueError(
            f"{method!r} is not a sensitivity run name <method>{RUN_SEPARATOR}<param>_<value>"
        )
    return base, param, parse_value(param, text)


def sensitivity_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One table row from the metrics record of a grid run (NaN metrics when it failed)."""
    _, param, value = parse_run(str(record["method"]))
    ok = record.get("status") == STATUS_OK
    return {
        "dataset": record["dataset"],
        "param": param,
        "value": value,
        "status": record.get("status"),
        "error": record.get("error", "") or "",
        **{m: _number(record.get(m)) if ok else math.nan for m in metric_registry().curve},
    }


def _number(value: object) -> float:
    """A metric value as float; a missing one (absent, JSON null) is NaN."""
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def sensitivity_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """sensitivity.csv from the metrics records of the grid runs, sorted by dataset,
    parameter and value; two records of one grid point raise ValueError."""
    table = pd.DataFrame(
        [sensitivity_row(r) for r in records], columns=[*ID_COLUMNS, *metric_registry().curve]
    )
    duplicated = table.duplicated(["dataset", "param", "value"])
    if duplicated.any():
        points = table.loc[duplicated, ["dataset", "param", "value"]].values.tolist()
        raise ValueError(f"duplicated sensitivity grid points: {points}")
    return table.sort_values(["dataset", "param", "value"], kind="stable").reset_index(drop=True)
