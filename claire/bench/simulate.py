"""A Splatter-like count simulator for embedded benchmark data.

Counts follow Splatter's generative model (Zappia et al. 2017): gamma-distributed gene
means with expression outliers, log-normal differential-expression factors per cell
type, multiplicative batch factors, log-normal library sizes with a per-batch shift, a
gamma-Poisson (biological coefficient of variation) sampling step and logistic dropout.

The batch effect is shaped after the real data in ../shared/data, compared with
:mod:`claire.bench.batch_signatures` (``benchmarks/simulator_vs_real.py``). Splatter's own
model, an independent log-normal factor on every gene, moved every cell type the same
way by half the distance between types (PCA bASW 0.80 and kBET 0.00, where the real
data have 0.95-0.96 and 0.12-0.78): Harmony could not mix it and gene-wise location/scale models
(ComBat) won. Here only a share of
genes carries a batch factor (``batch_gene_prob``), part of each factor's log-variance
is specific to the cell type (``batch_type_specific``: a batch acts differently on
different types, as a stimulation or a dissociation response does), and the batches'
mean log library sizes are spread evenly over ``lib_batch_range``. Library sizes
(``lib_loc``) give HVG detection rates like those of the real droplet and plate data,
and type proportions differ between batches about as much as in them
(``composition_alpha``).

Cell types can be shared by every batch or only by some, with
Dirichlet-imbalanced proportions, as in the paper's Pancreas, Immune and Lung data.

``trajectory=True`` replaces the discrete cell types by a branching trajectory (Splatter's
"paths" in spirit): a stem path splits into ``n_branches`` branches; each cell has a true
pseudotime t in [0, 1] (stem below ``branch_point``) and its expression moves
continuously along its path (log DE factors interpolated from the root to the end of the
stem, then from there to the end of its branch). The discrete cell types are the stages:
two along the stem and two along each branch (``n_cell_types = 2 + 2 n_branches``), and
the batch effect is the same model as for cell types, per stage. ``obs["pseudotime"]``,
``obs["branch"]`` and, per lineage (stem + one branch), ``obs["pseudotime_lineage<j>"]``
(NaN off the lineage, scib's convention) hold the ground truth.
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
    batch_effect: float = 0.25
    batch_gene_prob: float = 0.15
    batch_type_specific: float = 0.6
    de_prob: float = 0.1
    de_scale: float = 0.6
    de_down_prob: float = 0.5
    mean_shape: float = 0.6
    mean_rate: float = 0.3
    outlier_prob: float = 0.05
    lib_loc: float = 9.5
    lib_scale: float = 0.25
    lib_batch_shift: float = 0.0
    lib_batch_range: float = 0.2
    bcv: float = 0.2
    dropout_mid: float = 0.0
    dropout_shape: float = -1.0
    composition_alpha: float = 3.0
    trajectory: bool = False
    n_branches: int = 2
    branch_point: float = 0.4
    seed: int = 0

    def check(self) -> None:
        if self.n_batches < 2:
            raise ValueError("n_batches must be at least 2")
        if self.n_cell_types < 2:
            raise ValueError("n_cell_types must be at least 2")
        if self.n_cells < 10 * self.n_batches:
            raise ValueError("n_cells must be at least 10 per batch")
        if not 0.0 <= self.batch_gene_prob <= 1.0:
            raise ValueError("batch_gene_prob must lie in [0, 1]")
        if self.batch_effect < 0:
            raise ValueError("batch_effect must be >= 0")
        if not 0.0 <= self.batch_type_specific <= 1.0:
            raise ValueError("batch_type_specific must lie in [0, 1]")
        if self.partial_overlap and not 1 <= self.n_shared_types <= self.n_cell_types:
            raise ValueError("n_shared_types must lie in [1, n_cell_types]")
        if self.trajectory:
            if self.n_branches < 1:
                raise ValueError("n_branches must be at least 1")
            if self.n_cell_types != 2 + 2 * self.n_branches:
                raise ValueError(
                    "a trajectory has 2 stem stages and 2 stages per branch: n_cell_types "
                    f"must be {2 + 2 * self.n_branches} for {self.n_branches} branches"
                )
            if self.partial_overlap:
                raise ValueError("trajectory and partial_overlap cannot be combined")
            if not 0.0 < self.branch_point < 1.0:
                raise ValueError("branch_point must lie in (0, 1)")


def simulate_counts(**kwargs) -> ad.AnnData:
    """Simulate a batch-affected count matrix in the standard raw contract.

    Keyword arguments are the fields of :class:`SimulationParams`:

    - ``batch_effect``: standard deviation of a batch factor's log (on affected genes);
    - ``batch_gene_prob``: share of genes that carry a batch factor;
    - ``batch_type_specific``: share of that log-variance drawn per (batch, cell type),
      the rest per batch (0: one factor per batch and gene, as in Splatter);
    - ``lib_batch_range``: the batches' mean log library sizes are spread evenly over
      this range (natural log), in random order;
    - ``lib_batch_shift``: an extra per-batch log library-size shift, normal with this
      standard deviation (Splatter-like; 0 by default).

    Returns an AnnData with CSR float32 counts, ``obs["batch"]``, ``obs["cell_type"]``
    and the ground truth for inspection: ``var["de_<type>"]`` DE factors,
    ``var["batch_gene"]`` (carries a batch factor), ``var["batch_factor_<batch>"]`` (the
    part shared by every type), ``var["batch_factor_<batch>_<type>"]`` (the full factor
    of that batch on that type) and ``uns["simulation"]["lib_shift"]`` per batch.
    """
    params = SimulationParams(**kwargs)
    params.check()
    streams = _streams(params.seed)
    n_genes = params.n_genes
    batches = [f"batch{b + 1}" for b in range(params.n_batches)]
    types = (
        _stage_names(params)
        if params.trajectory
        else [f"type{t + 1}" for t in range(params.n_cell_types)]
    )

    gene_mean = _gene_means(streams["genes"], params)
    de_factors = _de_factors(streams["types"], params)  # types (trajectory: paths) x genes
    batch_gene, shared_log, batch_log = _batch_log_factors(streams["batch"], params)  # B, T, G
    presence = _type_presence(streams["cells"], params)  # batches x types, bool
    batch_of_cell, type_of_cell = _assign_cells(streams["cells"], params, presence)
    path = _trajectory_cells(streams["cells"], params, type_of_cell) if params.trajectory else None
    lib_shift = _library_shifts(streams["library"], params)
    rng = streams["counts"]

    chunks = []
    for start in range(0, params.n_cells, _CHUNK):
        stop = min(start + _CHUNK, params.n_cells)
        b, t = batch_of_cell[start:stop], type_of_cell[start:stop]
        if path is None:
            de = de_factors[t]
        else:
            de = _path_factors(de_factors, path[0][start:stop], path[1][start:stop], params)
        chunks.append(
            _sample_chunk(rng, params, gene_mean, de, np.exp(batch_log[b, t]), lib_shift[b])
        )
    counts = sp.vstack(chunks, format="csr")

    obs = pd.DataFrame(
        {
            BATCH: pd.Categorical(np.array(batches)[batch_of_cell], categories=batches),
            LABEL: pd.Categorical(np.array(types)[type_of_cell], categories=types),
        },
        index=[f"cell{i:06d}" for i in range(params.n_cells)],
    )
    if path is not None:
        _trajectory_obs(obs, path[0], path[1], params)
    var = pd.DataFrame(index=[f"gene{g:05d}" for g in range(n_genes)])
    var["base_mean"] = gene_mean
    de_names = _path_names(params) if path is not None else types
    for i, name in enumerate(de_names):
        var[f"de_{name}"] = de_factors[i]
    var["batch_gene"] = batch_gene
    factor_columns = {}
    for i, name in enumerate(batches):
        factor_columns[f"batch_factor_{name}"] = np.exp(shared_log[i])
        for j, type_name in enumerate(types):
            factor_columns[f"batch_factor_{name}_{type_name}"] = np.exp(batch_log[i, j])
    var = pd.concat([var, pd.DataFrame(factor_columns, index=var.index)], axis=1)
    adata = ad.AnnData(X=counts, obs=obs, var=var)
    adata.uns["simulation"] = {k: v for k, v in asdict(params).items()}
    adata.uns["simulation"]["lib_shift"] = dict(zip(batches, lib_shift.tolist(), strict=True))
    adata.obs[LABEL] = adata.obs[LABEL].cat.remove_unused_categories()
    return validate_raw(adata, name="simulation")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per part of the model, all derived from ``seed``.

    Changing the batch-effect parameters leaves the genes, the cell types and the cells'
    batches and types as they are (a batch-free twin has the same cells).
    """
    names = ("genes", "types", "batch", "cells", "library", "counts")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _gene_means(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    means = rng.gamma(p.mean_shape, 1.0 / p.mean_rate, size=p.n_genes)
    outliers = rng.random(p.n_genes) < p.outlier_prob
    means[outliers] *= rng.lognormal(4.0, 0.5, size=int(outliers.sum()))
    return means


def _de_factors(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    n_rows = 1 + p.n_branches if p.trajectory else p.n_cell_types
    is_de = rng.random((n_rows, p.n_genes)) < p.de_prob
    factor = rng.lognormal(0.1, p.de_scale, size=is_de.shape)
    down = rng.random(is_de.shape) < p.de_down_prob
    factor = np.where(down, 1.0 / factor, factor)
    return np.where(is_de, factor, 1.0)


def _batch_log_factors(
    rng: np.random.Generator, p: SimulationParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affected genes, the per-batch log factors and the full (batch, type, gene) logs.

    log factor = batch_effect * (sqrt(1 - s) * z[batch, gene] + sqrt(s) * z[batch, type,
    gene]) on affected genes, with s = ``batch_type_specific``; 0 on the other genes.
    """
    shape = (p.n_batches, p.n_cell_types, p.n_genes)
    affected = rng.random(p.n_genes) < p.batch_gene_prob
    sd = np.where(affected, p.batch_effect, 0.0)
    shared = rng.normal(0.0, 1.0, size=shape[::2]) * sd * np.sqrt(1 - p.batch_type_specific)
    specific = rng.normal(0.0, 1.0, size=shape) * sd * np.sqrt(p.batch_type_specific)
    return affected, shared, shared[:, None, :] + specific


def _library_shifts(rng: np.random.Generator, p: SimulationParams) -> np.ndarray:
    """Per-batch log library-size shifts: evenly spread over the range, plus normal noise."""
    spread = np.linspace(-0.5, 0.5, p.n_batches) * p.lib_batch_range
    return rng.permutation(spread) + rng.normal(0.0, p.lib_batch_shift, size=p.n_batches)


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
    batch_factor: np.ndarray,  # cells x genes
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


# ---- branching trajectory ------------------------------------------------------------------


def _path_names(p: SimulationParams) -> list[str]:
    """The paths: the stem, then each branch."""
    return ["stem", *(f"branch{j + 1}" for j in range(p.n_branches))]


def _stage_names(p: SimulationParams) -> list[str]:
    """Stages (the discrete cell types): stem_early, stem_late, branch<j>_early/late."""
    return [f"{path}_{part}" for path in _path_names(p) for part in ("early", "late")]


def _stage_interval(stage: np.ndarray, p: SimulationParams) -> tuple[np.ndarray, np.ndarray]:
    """Pseudotime interval [low, high) of each stage code (stem halves, branch halves)."""
    half = stage % 2
    stem = stage < 2
    length = np.where(stem, p.branch_point, 1.0 - p.branch_point) / 2
    low = np.where(stem, 0.0, p.branch_point) + half * length
    return low, low + length


def _trajectory_cells(
    rng: np.random.Generator, p: SimulationParams, stage: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudotime (uniform within the stage) and branch (0 = stem) of each cell."""
    low, high = _stage_interval(stage, p)
    pseudotime = low + (high - low) * rng.random(stage.size)
    branch = np.where(stage < 2, 0, stage // 2)
    return pseudotime, branch


def _path_factors(
    de_factors: np.ndarray, pseudotime: np.ndarray, branch: np.ndarray, p: SimulationParams
) -> np.ndarray:
    """DE factors of cells on the trajectory: the stem's log factors reached linearly by the
    branch point, then the branch's added linearly up to pseudotime 1."""
    logs = np.log(de_factors)
    stem = np.minimum(pseudotime, p.branch_point) / p.branch_point
    along = np.maximum(pseudotime - p.branch_point, 0.0) / (1.0 - p.branch_point)
    return np.exp(stem[:, None] * logs[0] + along[:, None] * logs[branch])


def _trajectory_obs(
    obs: pd.DataFrame, pseudotime: np.ndarray, branch: np.ndarray, p: SimulationParams
) -> None:
    names = _path_names(p)
    obs["pseudotime"] = pseudotime
    obs["branch"] = pd.Categorical(np.array(names)[branch], categories=names)
    for j in range(1, p.n_branches + 1):
        on = (branch == 0) | (branch == j)
        obs[f"pseudotime_lineage{j}"] = np.where(on, pseudotime, np.nan)
