"""Tables of the table registry (config/tables.yaml) that an entry derives with its own
function from other result tables: ``function(tables) -> DataFrame``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from claire.bench.registry.callables import load_callable


def derive_table(reference: str, table_paths: Mapping[str, str | Path]) -> pd.DataFrame:
    """Read the named tables and call the registered table function on them."""
    tables = {name: pd.read_csv(path) for name, path in table_paths.items()}
    table = load_callable(reference, "claire_table")(tables)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{reference} returned {type(table).__name__}, not a DataFrame")
    return table
