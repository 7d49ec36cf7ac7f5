"""Seeded reruns of an adapter for the method tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anndata as ad
import numpy as np

from claire.bench.contract import AdapterResult


def seeded_runs(
    run: Callable[..., AdapterResult], adata: ad.AnnData, seed: int, **params: Any
) -> tuple[AdapterResult, AdapterResult]:
    """Two runs with ``seed`` and one with ``seed + 1``: asserts the first two give the same
    embedding and the third another; returns the first two."""
    first = run(adata, "batch", seed=seed, **params)
    again = run(adata, "batch", seed=seed, **params)
    other = run(adata, "batch", seed=seed + 1, **params)
    np.testing.assert_array_equal(first.embedding, again.embedding)
    assert not np.array_equal(first.embedding, other.embedding)
    return first, again
