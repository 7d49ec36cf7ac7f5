"""A Splatter-like count simulator for embedded benchmark data.

Counts follow Splatter's generative model (Zappia et al. 2017): gamma-distributed gene
means with expression outliers, log-normal differential-expression factors per cell
type, per-batch multiplicative gene effects, log-normal library sizes with a per-batch
shift, a gamma-Poisson (biological coefficient of variation) sampling step and
logistic dropout. Cell types can be shared by every batch or only by some, with
Dirichlet-imbalanced proportions, as in the paper's Pancreas, Immune and Lung data.
The same arguments and seed always give the same matrix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from claire.bench.contract import BATCH, LABEL, validate_raw

_CHUNK = 4096  # cells generated at a time; fixed so the random stream never depends on size


@dataclass(frozen=True)
class SimulationParams:
    """Parameters of :func:`simulate_counts` (defaults follow Splatter's)."""

    n_cells: int = 3000
    n_genes: int = 2000
    n_batches: int = 2
    n_cell_types: int = 6
    partial_overlap: bool = False
    n_shared_types: int = 2
    batch_effect: float = 0.3
    de_prob: float = 0.1
    de_scale: float = 0.6
    de_down_prob: float = 0.5
    mean_shape: float = 0.6
    mean_rate: float = 0.3
    outlier_prob: float = 0.05
    lib_loc: float = 8.5
    lib_scale: float = 0.25
    lib_batch_shift: float = 0.4
    bcv: float = 0.2
    dropout_mid: float = 0.0
    dropout_shape: float = -1.0
    composition_alpha: float = 1.5
    seed: int = 0

    def check(self) -> None:
        if self.n_batches < 2:
            raise ValueError("n_batches must be at least 2")
        if self.n_cell_types < 2:
            raise ValueError("n_cell_types must be at least 2")
        if self.n_cells < 10 * self.n_batches:
            raise ValueError("n_cells must be at least 10 per batch")
        if self.partial_overlap and not 1 <= self.n_shared_types <= self.n_cell_types:
            raise ValueError("n_shared_types must lie in [1, n_cell_types]")


def simulate_counts(**kwargs) -> ad.AnnData:
    """Simulate a batch-affected count matrix in the standard raw contract.

    Keyword arguments are the fields of :class:`SimulationParams`. Returns an AnnData
    with CSR float32 counts, ``obs["batch"]``, ``obs["cell_type"]`` and the ground truth
    (``var["de_<type>"]`` DE factors, ``var["batch_factor_<batch>"]``) for inspection.
    """
    params = SimulationParams(**kwargs)
    params.check()
    rng = np.random.default_rng(params.seed)
    n_genes = params.n_genes
    batches = [f"batch{b + 1}" for b in range(params.n_batches)]
    types = [f"type{t + 1}" for t in range(params.n_cell_types)]

    gene_mean = _gene_means(rng, params)
    de_factors = _de_factors(rng, params)  # types x genes
    batch_factors = rng.lognormal(0.0, params.batch_effect, size=(params.n_batches, n_genes))
    presence = _type_presence(rng, params)  # batches x types, bool
    batch_of_cell, type_of_cell = _assign_cells(rng, params, presence)
    lib_shift = rng.normal(0.0, params.lib_batch_shift, size=params.n_batches)

    chunks = []
    for start in range(0, params.n_cells, _CHUNK):
        stop = min(start + _CHUNK, params.n_cells)
        b, t = batch_of_cell[start:stop], type_of_cell[start:stop]
        chunks.append(
            _sample_chunk(rng, params, gene_mean, de_factors[t], batch_factors[b], lib_shift[b])
        )
    counts = sp.vstack(chunks, format="csr")

    obs = pd.DataFrame(
        {
            BATCH: pd.Categorical(np.array(batches)[batch_of_cell], categories=batches),
            LABEL: pd.Categorical(np.array(types)[type_of_cell], categories=types),
        },
        index=[f"cell{i:06d}" for i in range(params.n_cells)],
    )
    var = pd.DataFrame(index=[f"gene{g:05d}" for g in range(n_genes)])
    var["base_mean"] = gene_mean
    for i, name in enumerate(types):
        var[f"de_{name}"] = de_factors[i]
    for i, name in enumerate(batches):
        var[f"batch_factor_{name}"] = batch_factors[i]
    adata = ad.AnnData(X=counts, obs=obs, var=var)
    adata.uns["simulation"] = {k: v for k, v in asdict(params).items()}
    adata.obs[LABEL] = adata.obs[LABEL].cat.remove_unused_categories()
    return validate_raw(adata, name="simulation")


def _gene_means(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    means = rng.gamma(p.mean_shape, 1.0 / p.mean_rate, size=p.n_genes)
    outliers = rng.random(p.n_genes) < p.outlier_prob
    means[outliers] *= rng.lognormal(4.0, 0.5, size=int(outliers.sum()))
    return means


def _de_factors(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    is_de = rng.random((p.n_cell_types, p.n_genes)) < p.de_prob
    factor = rng.lognormal(0.1, p.de_scale, size=is_de.shape)
    down = rng.random(is_de.shape) < p.de_down_prob
    factor = np.where(down, 1.0 / factor, factor)
    return np.where(is_de, factor, 1.0)


def _type_presence(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    presence = np.ones((p.n_batches, p.n_cell_types), dtype=bool)
    if not p.partial_overlap:
        return presence
    for t in range(p.n_shared_types, p.n_cell_types):
        n_present = rng.integers(1, p.n_batches)  # in 1 .. n_batches-1 batches
        present = rng.choice(p.n_batches, size=n_present, replace=False)
        presence[:, t] = False
        presence[present, t] = True
    return presence


def _assign_cells(
    rng: np.random.Generator, p: SimulationParams, presence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    batch_share = rng.dirichlet(np.full(p.n_batches, 5.0))
    batch_sizes = np.maximum(rng.multinomial(p.n_cells - 10 * p.n_batches, batch_share), 0) + 10
    batch_of_cell = np.repeat(np.arange(p.n_batches), batch_sizes)
    type_of_cell = np.empty(p.n_cells, dtype=np.int64)
    start = 0
    for b, size in enumerate(batch_sizes):
        present = np.flatnonzero(presence[b])
        share = rng.dirichlet(np.full(present.size, p.composition_alpha))
        share = 0.8 * share + 0.2 / present.size  # every present type keeps some cells
        type_of_cell[start : start + size] = rng.choice(present, size=size, p=share)
        start += size
    order = rng.permutation(p.n_cells)
    return batch_of_cell[order], type_of_cell[order]


def _sample_chunk(
    rng: np.random.Generator,
    p: SimulationParams,
    gene_mean: np.ndarray,
    de: np.ndarray,
    batch_factor: np.ndarray,
    lib_shift: np.ndarray,
) -> sp.csr_matrix:
    n = de.shape[0]
    lib_size = rng.lognormal(p.lib_loc + lib_shift, p.lib_scale, size=n)
    profile = gene_mean[None, :] * de * batch_factor
    profile /= profile.sum(axis=1, keepdims=True)
    mu = profile * lib_size[:, None]
    bcv = p.bcv + 1.0 / np.sqrt(mu + 1e-12) * 0.1
    shape = 1.0 / bcv**2
    lam = rng.gamma(shape, mu / shape)
    counts = rng.poisson(lam)
    keep_prob = 1.0 / (1.0 + np.exp(p.dropout_shape * (np.log(mu + 1e-12) - p.dropout_mid)))
    counts[rng.random(counts.shape) > keep_prob] = 0
    return sp.csr_matrix(counts.astype(np.float32))
