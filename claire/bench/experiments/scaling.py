"""The scaling experiment (paper Supplementary Tables S2/S3): its datasets.

The config's ``scaling.source`` dataset is read once (dataset ``scaling_source``) and
subsampled, stratified, to each of ``scaling.sizes`` cells (datasets ``scaling_<n>``, read
from the source's raw file); each size of a run waits for the next smaller one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SOURCE = "scaling_source"


def scaling_datasets(block: Mapping[str, Any], results: str) -> dict[str, dict[str, Any]]:
    """Dataset name -> entry of the scaling experiment: the source and one stratified
    subsample per size (read from the source's raw file under ``results``), smallest
    first; empty without ``block["source"]``. Sizes above a simulated source's cell count
    are left out."""
    source = block.get("source")
    if not source:
        return {}
    sizes = sorted(set(block["sizes"]))
    known = source["source"].get("n_cells") if source["source"]["type"] == "simulated" else None
    if known is not None:
        sizes = [n for n in sizes if n <= known]
    datasets = {SOURCE: {**source, "method_params": {}}}
    for n in sizes:
        datasets[f"scaling_{n}"] = {
            **source,
            "source": {
                "type": "h5ad",
                "path": f"{results}/data/{SOURCE}/raw.h5ad",
                "optional": False,
            },
            "batch_key": "batch",
            "label_key": "cell_type",
            "counts_layer": None,
            "integer_counts": False,
            "subsample": {"n_cells": n, "seed": block["seed"]},
            "method_params": source.get("method_params", {}),
        }
    return datasets


def sized_datasets(datasets: Mapping[str, Any]) -> dict[str, Any]:
    """The subsampled sizes of :func:`scaling_datasets` (the source left out), in order."""
    return {name: spec for name, spec in datasets.items() if name != SOURCE}


def smaller_dataset(sizes: Sequence[str], dataset: str) -> str | None:
    """The scaling dataset one size below ``dataset`` in ``sizes`` (smallest first), or None
    (the smallest, or not a scaling dataset)."""
    names = list(sizes)
    if dataset not in names or names.index(dataset) == 0:
        return None
    return names[names.index(dataset) - 1]


def run_budget(block: Mapping[str, Any]) -> dict[str, int]:
    """Time (seconds) and memory (MB) budget of one scaling run."""
    return {"seconds": block["time_budget_min"] * 60, "mem_mb": block["mem_budget_mb"]}


def budget_runtime(minutes: int, block: Mapping[str, Any]) -> int:
    """A scaling run's job runtime (minutes): at least its time budget plus 10 minutes."""
    return max(minutes, block["time_budget_min"] + 10)
