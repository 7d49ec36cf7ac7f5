"""Table registry: a report table is one entry (and, for a derived table, one function).

An entry (``config/tables.yaml``, plus any extra files named by the config's
``table_registry``) gives the table's name (results/tables/<name>.csv, shown rounded as
results/report/tables/<name>.html), what builds it, its report category and title, the
experiment it belongs to (``optional``: shown only when that experiment runs) and a caption
template over the metric registry (as figure captions: ``{basw}``, ``{batch_metrics}``, ...;
see :mod:`claire.bench.registry.figures`).

What builds it is either ``built_by``, the rule of the workflow that writes it (several
tables come from one shared step, e.g. ``aggregate_metrics``), or ``function``
(``"module:callable"`` or ``"path/to/file.py:callable"``) with ``tables``: the workflow then
makes a rule ``table_<name>`` that calls ``function(tables) -> DataFrame`` on the named
tables (DataFrames). Only PyYAML besides the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claire.bench.registry.entries import (
    check_caption,
    check_keys,
    optional_experiment,
    read_entries,
)
from claire.bench.registry.figures import EXPERIMENTS, caption_text

DEFAULT_TABLES = Path(__file__).resolve().parents[3] / "config" / "tables.yaml"
DEFAULT_CATEGORY = "4. Tables"
_KEYS = {"built_by", "function", "tables", "category", "title", "optional", "caption"}


class TableRegistryError(ValueError):
    """A table registry entry is invalid."""


@dataclass(frozen=True)
class TableSpec:
    """One table registry entry (see config/tables.yaml)."""

    name: str
    title: str
    caption: str
    category: str = DEFAULT_CATEGORY
    built_by: str | None = None
    function: str | None = None
    tables: tuple[str, ...] = ()
    optional: str | None = None

    @property
    def caption_text(self) -> str:
        return caption_text(self.caption)


def table_spec(name: str, entry: Mapping[str, Any]) -> TableSpec:
    """Check one entry (and its caption) and return its :class:`TableSpec`."""
    check_keys("table", name, entry, _KEYS, {"title", "caption"}, TableRegistryError)
    if ("built_by" in entry) == ("function" in entry):
        raise TableRegistryError(f"table {name!r}: give exactly one of built_by and function")
    if "function" in entry and ":" not in str(entry["function"]):
        raise TableRegistryError(f"table {name!r}: function must be 'module:callable'")
    if "function" in entry and not entry.get("tables"):
        raise TableRegistryError(f"table {name!r}: a function needs the tables it reads")
    optional = optional_experiment("table", name, entry, EXPERIMENTS, TableRegistryError)
    spec = TableSpec(
        name=name,
        title=str(entry["title"]),
        caption=str(entry["caption"]).strip(),
        category=str(entry.get("category", DEFAULT_CATEGORY)),
        built_by=entry.get("built_by"),
        function=entry.get("function"),
        tables=tuple(entry.get("tables") or ()),
        optional=optional,
    )
    check_caption("table", name, spec, TableRegistryError)
    return spec


def load_tables(extra: Iterable[str | os.PathLike] = ()) -> dict[str, TableSpec]:
    """The built-in tables (config/tables.yaml) with the entries of ``extra`` files added
    or replacing built-in ones, in file order."""
    entries = read_entries("table", (DEFAULT_TABLES, *extra), TableRegistryError)
    return {name: table_spec(name, entry) for name, entry in entries.items()}


def experiment_entries(specs: Mapping[str, Any], experiment: str | None = None) -> list[str]:
    """Names of the table (or figure) entries of one optional experiment, or with
    ``experiment`` None those shown in every run."""
    return [name for name, spec in specs.items() if spec.optional == experiment]
