"""Scores of one embedding for the adapter tests: batch mixing against the PCA baseline."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np

from claire.bench.methods import pca
from claire.bench.metrics import batch_asw, kbet


@dataclass(frozen=True)
class Mixing:
    """Batch-mixing scores of one embedding (higher is better for both)."""

    basw: float
    kbet: float

    def beats(self, other: Mixing) -> bool:
        """True when kBET or bASW is better than ``other``'s."""
        return self.kbet > other.kbet or self.basw > other.basw


def mixing(embedding: np.ndarray, adata: ad.AnnData) -> Mixing:
    batches, labels = adata.obs["batch"].to_numpy(), adata.obs["cell_type"].to_numpy()
    return Mixing(batch_asw(embedding, batches, labels), kbet(embedding, batches))


def baseline_mixing(adata: ad.AnnData, seed: int = 0) -> Mixing:
    """Scores of the unintegrated PCA (50 components) on the same data."""
    return mixing(pca.run(adata, "batch", seed), adata)
