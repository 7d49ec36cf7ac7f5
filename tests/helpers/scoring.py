"""Scores of one embedding for the adapter tests: batch mixing against the PCA baseline."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np

from claire.bench.methods import pca
from claire.bench.metrics import batch_asw, kbet, nmi_ari


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


def assert_beats_pca(
    name: str, embedding: np.ndarray, adata: ad.AnnData, pca_scores: tuple[Mixing, float]
) -> None:
    """``embedding`` mixes batches better than the PCA (``pca_scores``: its mixing and NMI,
    conftest's ``kang_pca``) and keeps the cell types' NMI within 0.1 of the PCA's."""
    baseline, pca_nmi = pca_scores
    scores = mixing(embedding, adata)
    assert scores.beats(baseline), f"{name} {scores} vs PCA {baseline}"
    nmi = nmi_ari(embedding, adata.obs["cell_type"].to_numpy()).nmi
    assert nmi > pca_nmi - 0.1, f"{name} NMI {nmi:.3f} vs PCA {pca_nmi:.3f}"
