"""Control methods (openproblems ``task_batch_integration``): embeddings of known quality.

They bracket what an integration can score on a dataset: the control-scaled score table
(:mod:`claire.bench.tables.controls`) scales each metric between the worst and the best
control. ``no_integration`` is the registry's ``pca`` (the unintegrated baseline).

- ``shuffle``: the unintegrated PCA with its rows permuted (no structure at all);
- ``shuffle_by_batch``: rows permuted within each batch (batch structure kept, no biology);
- ``shuffle_by_cell_type``: rows permuted within each cell type (types kept, batches mixed
  within them; reads the labels);
- ``embed_cell_types``: one-hot of the true cell types (perfect types, perfect mixing;
  reads the labels);
- ``embed_cell_types_jittered``: the same plus uniform noise in [-jitter, jitter]
  (openproblems' 0.01), which breaks the ties of identical points in k-NN searches.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import LABEL
from claire.bench.methods.pca import scaled_pca

KINDS = (
    "shuffle",
    "shuffle_by_batch",
    "shuffle_by_cell_type",
    "embed_cell_types",
    "embed_cell_types_jittered",
)


def _permute_within(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of the rows that maps each group onto itself."""
    order = np.arange(groups.size)
    for group in pd.unique(groups):
        rows = np.flatnonzero(groups == group)
        order[rows] = rng.permutation(rows)
    return order


def one_hot(labels: pd.Series | np.ndarray) -> np.ndarray:
    """One column per cell type (float32)."""
    codes = pd.Categorical(np.asarray(labels)).codes
    out = np.zeros((codes.size, codes.max() + 1), dtype=np.float32)
    out[np.arange(codes.size), codes] = 1.0
    return out


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    kind: str = "shuffle",
    n_comps: int = 50,
    jitter: float = 0.01,
) -> np.ndarray:
    """The control embedding ``kind`` of the cells (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown control kind {kind!r}; use one of {KINDS}")
    rng = np.random.default_rng(seed)
    if kind.startswith("embed_cell_types"):
        embedding = one_hot(adata.obs[LABEL])
        if kind == "embed_cell_types_jittered":
            embedding = embedding + rng.uniform(-jitter, jitter, embedding.shape).astype(np.float32)
        return embedding
    pca = scaled_pca(adata, n_comps=n_comps, seed=seed)
    if kind == "shuffle":
        return pca[rng.permutation(adata.n_obs)]
    key = batch_key if kind == "shuffle_by_batch" else LABEL
    return pca[_permute_within(adata.obs[key].to_numpy(), rng)]
