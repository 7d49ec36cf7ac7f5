"""Shared helpers of the adapter tests: the preprocessed real data and its PCA baseline."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np

from claire.bench.contract import to_standard_raw
from claire.bench.methods import pca
from claire.bench.metrics import batch_asw, kbet
from claire.bench.preprocess import preprocess


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


def kang_preprocessed(kang_raw: ad.AnnData) -> ad.AnnData:
    """Kang PBMC (4 samples as batches, 5 types), 1000 HVGs."""
    raw = to_standard_raw(kang_raw, "sample_id", "cluster_id", name="kang")
    return preprocess(raw, n_hvg=1000, name="kang")


def baseline_mixing(adata: ad.AnnData, seed: int = 0) -> Mixing:
    """Scores of the unintegrated PCA (50 components) on the same data."""
    return mixing(pca.run(adata, "batch", seed), adata)
