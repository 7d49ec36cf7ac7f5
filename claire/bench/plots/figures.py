"""Plot functions of the figure registry (config/figures.yaml): each takes the tables it
names and the methods and their labels, and returns a matplotlib Figure."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from claire.bench.plots.palette import method_palette
from claire.bench.plots.runtime import plot_runtime_memory
from claire.bench.plots.scores import plot_batch_vs_bio, plot_f1_bars

Tables = Mapping[str, pd.DataFrame]


def f1_bars(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """F1 per dataset and method (paper Fig. 3a)."""
    return plot_f1_bars(tables["scores"], method_palette(methods), methods=methods, labels=labels)


def batch_vs_bio(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """S_batch against S_bio (paper Fig. 3b)."""
    return plot_batch_vs_bio(
        tables["scores"], method_palette(methods), methods=methods, labels=labels
    )


def runtime_memory(tables: Tables, *, methods: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Wall time and peak memory of the integration step (S2/S3)."""
    return plot_runtime_memory(
        tables["runtime"], method_palette(methods), labels=labels, methods=methods
    )


def plot_function(reference: str) -> Callable[..., Figure]:
    """The callable of a registry entry's ``function``: ``"module:name"`` or
    ``"path/to/file.py:name"`` (a plug-in file outside the package)."""
    module_name, _, name = reference.rpartition(":")
    if module_name.endswith(".py"):
        path = Path(module_name)
        spec = importlib.util.spec_from_file_location(f"claire_figure_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load a plot function from {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, name)


def draw(
    reference: str,
    table_paths: Mapping[str, str | Path],
    *,
    methods: Sequence[str],
    labels: Mapping[str, str],
) -> Figure:
    """Read the named tables and call the registered plot function on them."""
    tables = {name: pd.read_csv(path) for name, path in table_paths.items()}
    return plot_function(reference)(tables, methods=list(methods), labels=dict(labels))
