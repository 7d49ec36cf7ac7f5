"""INSCT (Simon et al., Nat. Mach. Intell. 2021): a PyTorch reimplementation of the
batch-aware triplet network of ``lkmklsmn/insct`` (``tnn/tnn.py``, version 0.0.2 of
2020-12-01) with the loss and output layer of ``beringresearch/ivis`` 1.7.2, run the way
the CLAIRE authors ran it (CLAIRE-release ``reproducibility/INSCT/INSCT_*.py``).

This is a reimplementation, not the authors' code (their TensorFlow 2 / ivis 1.7.2 stack
runs only in a separate TensorFlow environment; ``benchmarks/parity/insct.py`` compares
the two there). What it does, as upstream:

* input: PCA-50 of the globally z-scored HVGs (``sc.pp.scale(max_value=None)``, ARPACK);
  ``scale=False`` gives the unscaled variant of CLAIRE's Pancreas test notebook;
* triplets, built once per fit: mutual nearest neighbours (k = 150, on the *global* PCA)
  for every batch pair in order of first appearance. A cell keeps the partners of the
  **last** batch pair in which it has MNNs (upstream ``mnns[cell] = partners``
  overwrites); then ``round(0.75 * n_MNN_cells)`` randomly chosen cells without MNN get
  their k nearest neighbours among those chosen cells, pooled over batches, the cell
  itself included. Cells beyond that cap get no triplets;
* network: 50 -> 38 -> 38 -> 38 -> ``latent_dim`` (SELU, AlphaDropout 0.25 after the
  first two layers, Keras inits: truncated lecun-normal, glorot-uniform last layer,
  zero biases), linear output, no normalisation;
* loss: ivis 1.7.2 ``pn_loss`` (margin 1), Adam (lr 1e-3, eps 1e-7), 64 anchors per
  step in fixed contiguous blocks whose order is shuffled each epoch; positives and
  negatives are redrawn at every access; no early stopping (CLAIRE set the patience to
  the epoch count);
* output: the network in inference mode (no dropout), ``latent_dim`` = 2 as CLAIRE ran it;
  ``epochs`` = 120, the longest run of CLAIRE's sweep (0, 10, ..., 120; which epoch fed the
  paper's tables is not recorded).

Faithful quirks, behind named options (the default is what the CLAIRE paper's numbers used):

* ``negatives="upstream"``: upstream draws a random *position* of the anchor's batch in
  the training-cell order and uses it as a row of the full data, so the negative is
  effectively a random cell of an unrelated batch. ``"intended"`` maps that position to
  its cell (a random training cell of the anchor's batch, as the INSCT paper describes);
* ``mnn_overwrite=True`` (the last-pair-wins rule above); ``False`` pools a cell's
  partners over every batch pair instead.

Deliberate differences: exact nearest neighbours instead of hnswlib (ef = 150, near
exact); the hash-set orders of upstream (order of MNN cells within a batch pair, order
of the residual cells) are replaced by seeded random permutations; k is capped at the
size of the searched set (upstream crashes when a batch or the residual set has fewer
than k cells); every random step is seeded from ``seed``. The Keras loss history is a
per-sample mean over the epoch, as recorded here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import anndata as ad
import numpy as np
import scanpy as sc
import scipy.sparse as sp
import torch
from sklearn.neighbors import NearestNeighbors
from torch import nn

from claire.bench.competitors._contrastive import (
    batch_codes,
    check_snapshot_epochs,
    dense_float32,
    run_epochs,
)
from claire.bench.contract import AdapterResult, InputError
from claire.bench.methods.pca import scaled_pca
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

Negatives = Literal["upstream", "intended"]
KERAS_EPSILON = 1e-7
TRUNCATED_NORMAL_STD = 0.87962566103423978  # std of a unit normal truncated at +-2


# ---------------------------------------------------------------- triplet construction


def knn_indices(query: np.ndarray, ref: np.ndarray, k: int) -> np.ndarray:
    """Exact Euclidean k nearest rows of ``ref`` for every row of ``query`` (k capped at
    ``len(ref)``), nearest first."""
    k = min(k, ref.shape[0])
    nn_search = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(ref)
    return nn_search.kneighbors(query, return_distance=False)


def mutual_pairs(
    pcs: np.ndarray, new: np.ndarray, ref: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mutual k-nearest-neighbour pairs (new cell, ref cell) between two cell sets."""
    new_to_ref = knn_indices(pcs[new], pcs[ref], k)
    ref_to_new = knn_indices(pcs[ref], pcs[new], k)
    n_new, n_ref = len(new), len(ref)
    forward = sp.csr_matrix(
        (
            np.ones(new_to_ref.size, dtype=np.int8),
            new_to_ref.ravel(),
            np.arange(0, new_to_ref.size + 1, new_to_ref.shape[1]),
        ),
        shape=(n_new, n_ref),
    )
    backward = sp.csr_matrix(
        (
            np.ones(ref_to_new.size, dtype=np.int8),
            ref_to_new.ravel(),
            np.arange(0, ref_to_new.size + 1, ref_to_new.shape[1]),
        ),
        shape=(n_ref, n_new),
    )
    mutual = forward.multiply(backward.T).tocoo()
    return new[mutual.row], ref[mutual.col]


def _nodes_in_insertion_order(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Graph nodes in order of first appearance when edges (u, v) are added in order."""
    sequence = np.stack([u, v], axis=1).ravel()
    _, first = np.unique(sequence, return_index=True)
    return sequence[np.sort(first)]


def _neighbour_lists(u: np.ndarray, v: np.ndarray) -> dict[int, np.ndarray]:
    """Each node's neighbours (sorted) in the undirected graph with edges (u, v)."""
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    nodes, starts = np.unique(src, return_index=True)
    return dict(zip(nodes.tolist(), np.split(dst, starts[1:]), strict=True))


def mnn_partners(
    pcs: np.ndarray,
    codes: np.ndarray,
    k: int,
    rng: np.random.Generator,
    overwrite: bool = True,
) -> dict[int, np.ndarray]:
    """Every cell with a mutual nearest neighbour in another batch -> its partners.

    Batch pairs (i, j), i < j, are processed in ``itertools.combinations`` order of the
    batch codes (codes follow first appearance). Within a pair the cells enter in the
    order of a seeded random permutation of the mutual pairs (upstream: the hash order
    of a Python set). With ``overwrite`` a cell's partners are those of the last pair it
    takes part in, while it keeps the position of its first entry (upstream's dict).
    """
    partners: dict[int, np.ndarray] = {}
    n_batches = int(codes.max()) + 1
    for i, j in combinations(range(n_batches), 2):
        new, ref = np.flatnonzero(codes == j), np.flatnonzero(codes == i)
        u, v = mutual_pairs(pcs, new, ref, k)
        log.info("insct: batches (%d, %d): %d mutual pairs", i, j, len(u))
        if len(u) == 0:
            continue
        perm = rng.permutation(len(u))
        lists = _neighbour_lists(u, v)
        for cell in _nodes_in_insertion_order(u[perm], v[perm]).tolist():
            if overwrite or cell not in partners:
                partners[cell] = lists[cell]
            else:
                partners[cell] = np.union1d(partners[cell], lists[cell])
    return partners


def residual_knn(
    pcs: np.ndarray,
    mnn_cells: Sequence[int],
    k: int,
    k_to_m_ratio: float,
    rng: np.random.Generator,
) -> tuple[dict[int, np.ndarray], int]:
    """KNN partners of a random subset of the cells without MNN, and the residual count.

    At most ``round(k_to_m_ratio * len(mnn_cells))`` residual cells are kept (a uniform
    random subset in random order); their k nearest neighbours are searched among the
    kept cells only, pooled across batches, the cell itself included.
    """
    residual = np.setdiff1d(np.arange(pcs.shape[0]), np.asarray(mnn_cells, dtype=np.int64))
    cap = round(k_to_m_ratio * len(mnn_cells))
    chosen = rng.permutation(residual)[:cap]
    if len(chosen) == 0:
        return {}, len(residual)
    neighbours = chosen[knn_indices(pcs[chosen], pcs[chosen], k)]
    return dict(zip(chosen.tolist(), neighbours, strict=True)), len(residual)


@dataclass
class TripletSets:
    """Training anchors (full-data rows, in upstream's ``ddata`` order) and their partners."""

    cells: np.ndarray
    indptr: np.ndarray
    partners: np.ndarray
    n_mnn: int
    n_knn: int
    n_residual: int

    @classmethod
    def from_dicts(
        cls, mnn: dict[int, np.ndarray], knn: dict[int, np.ndarray], n_residual: int
    ) -> TripletSets:
        merged = {**mnn, **knn}
        lists = list(merged.values())
        sizes = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        return cls(
            cells=np.fromiter(merged, dtype=np.int64, count=len(merged)),
            indptr=np.concatenate([[0], np.cumsum(sizes)]),
            partners=np.concatenate(lists).astype(np.int64),
            n_mnn=len(mnn),
            n_knn=len(knn),
            n_residual=n_residual,
        )


def build_triplet_sets(
    pcs: np.ndarray,
    codes: np.ndarray,
    k: int,
    k_to_m_ratio: float,
    rng: np.random.Generator,
    mnn_overwrite: bool = True,
) -> TripletSets:
    """INSCT's anchors and positive lists: MNN cells first, then the capped residual KNN."""
    mnn = mnn_partners(pcs, codes, k, rng, overwrite=mnn_overwrite)
    if not mnn:
        raise InputError("insct: no mutual nearest neighbours between any two batches")
    knn, n_residual = (
        residual_knn(pcs, list(mnn), k, k_to_m_ratio, rng) if k_to_m_ratio > 0 else ({}, 0)
    )
    sets = TripletSets.from_dicts(mnn, knn, n_residual)
    log.info(
        "insct: %d MNN cells, %d KNN cells (of %d without MNN), %d training anchors",
        sets.n_mnn,
        sets.n_knn,
        n_residual,
        len(sets.cells),
    )
    return sets


class TripletSampler:
    """Draws one positive and one negative per training anchor, as upstream's generator."""

    def __init__(self, sets: TripletSets, codes: np.ndarray, negatives: Negatives) -> None:
        if negatives not in ("upstream", "intended"):
            raise InputError(
                f"insct: negatives must be 'upstream' or 'intended', not {negatives!r}"
            )
        self.sets = sets
        self.negatives = negatives
        anchor_codes = codes[sets.cells]
        self.anchor_codes = anchor_codes
        # positions (in the anchor order) of each batch's anchors, grouped by batch
        self.by_batch = np.argsort(anchor_codes, kind="stable")
        counts = np.bincount(anchor_codes, minlength=int(codes.max()) + 1)
        self.batch_start = np.concatenate([[0], np.cumsum(counts)])[:-1]
        self.batch_count = counts

    def positives(self, rng: np.random.Generator) -> np.ndarray:
        """A uniform draw from each anchor's partner list (full-data rows)."""
        starts = self.sets.indptr[:-1]
        degrees = np.diff(self.sets.indptr)
        offsets = np.floor(rng.random(len(starts)) * degrees).astype(np.int64)
        return self.sets.partners[starts + offsets]

    def negative_positions(self, rng: np.random.Generator) -> np.ndarray:
        """A uniform random position (in the anchor order) of each anchor's batch."""
        c = self.anchor_codes
        offsets = np.floor(rng.random(len(c)) * self.batch_count[c]).astype(np.int64)
        return self.by_batch[self.batch_start[c] + offsets]

    def negatives_from(self, positions: np.ndarray) -> np.ndarray:
        """Full-data rows of the negatives: upstream uses the position itself as the row."""
        return positions if self.negatives == "upstream" else self.sets.cells[positions]

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        positive = self.positives(rng)
        return positive, self.negatives_from(self.negative_positions(rng))

    def same_batch_negative_fraction(self, codes: np.ndarray) -> float:
        """Expected share of negatives that come from the anchor's own batch.

        Every position of a batch is equally likely for that batch's anchors, so the share
        is the mean, over positions, of "the row used for position p is in p's batch".
        """
        rows = self.negatives_from(np.arange(len(self.sets.cells)))
        return float(np.mean(codes[rows] == self.anchor_codes))


# ---------------------------------------------------------------- network and loss


def _lecun_normal_(weight: torch.Tensor) -> None:
    """Keras ``lecun_normal`` (TF2): truncated normal at +-2 std, std sqrt(1/fan_in)/0.8796."""
    std = math.sqrt(1.0 / weight.shape[1]) / TRUNCATED_NORMAL_STD
    nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-2 * std, b=2 * std)


class TripletEncoder(nn.Module):
    """insct's ``base_network`` plus ivis's linear embedding layer."""

    def __init__(self, n_input: int, latent_dim: int = 2, dropout: float = 0.25) -> None:
        super().__init__()
        hidden = round(0.75 * n_input)
        self.layers = nn.Sequential(
            nn.Linear(n_input, hidden),
            nn.SELU(),
            nn.AlphaDropout(dropout),
            nn.Linear(hidden, hidden),
            nn.SELU(),
            nn.AlphaDropout(dropout),
            nn.Linear(hidden, hidden),
            nn.SELU(),
            nn.Linear(hidden, latent_dim),
        )
        linears = [m for m in self.layers if isinstance(m, nn.Linear)]
        for layer in linears[:-1]:
            _lecun_normal_(layer.weight)
        nn.init.xavier_uniform_(linears[-1].weight)  # Keras glorot_uniform
        for layer in linears:
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def keras_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ivis's Euclidean distance: sqrt(max(||x - y||^2, 1e-7)) per row."""
    return torch.sqrt(torch.clamp(((x - y) ** 2).sum(dim=-1), min=KERAS_EPSILON))


def pn_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0
) -> torch.Tensor:
    """ivis 1.7.2 ``pn_loss``: mean of max(0, d(a,p) - min(d(a,n), d(p,n)) + margin)."""
    d_ap = keras_distance(anchor, positive)
    d_min = torch.minimum(keras_distance(anchor, negative), keras_distance(positive, negative))
    return torch.clamp(d_ap - d_min + margin, min=0.0).mean()


# ---------------------------------------------------------------- training


def pca_input(adata: ad.AnnData, n_pcs: int, scale: bool, seed: int) -> np.ndarray:
    """PCA of the HVGs: z-scored without clipping first (CLAIRE's scripts) or not."""
    if scale:
        return dense_float32(scaled_pca(adata, n_comps=n_pcs, seed=seed, max_value=None))
    work = ad.AnnData(X=adata.X.copy(), obs=adata.obs[[]].copy())
    n_comps = min(n_pcs, min(work.shape) - 1)
    sc.tl.pca(work, n_comps=n_comps, svd_solver="arpack", random_state=seed)
    return dense_float32(work.obsm["X_pca"])


class InsctTrainer:
    """One epoch of INSCT training at a time, plus the full-data embedding."""

    def __init__(
        self,
        pcs: np.ndarray,
        sampler: TripletSampler,
        model: TripletEncoder,
        rng: np.random.Generator,
        device: torch.device,
        lr: float,
        batch_size: int,
        margin: float,
    ) -> None:
        self.x = torch.from_numpy(pcs).to(device)
        self.sampler = sampler
        self.model = model
        self.rng = rng
        self.device = device
        self.batch_size = batch_size
        self.margin = margin
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=KERAS_EPSILON)
        self.anchors = torch.from_numpy(sampler.sets.cells).to(device)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """Fixed blocks of ``batch_size`` anchors in shuffled block order; triplets redrawn."""
        positive, negative = self.sampler.draw(self.rng)
        positive = torch.from_numpy(positive).to(self.device)
        negative = torch.from_numpy(negative).to(self.device)
        n = len(self.anchors)
        n_blocks = math.ceil(n / self.batch_size)
        self.model.train()
        total = torch.zeros((), device=self.device)
        for block in self.rng.permutation(n_blocks).tolist():
            rows = slice(block * self.batch_size, min((block + 1) * self.batch_size, n))
            total += self.train_step(self.anchors[rows], positive[rows], negative[rows])
        return {"loss": float(total) / n}

    def train_step(
        self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
    ) -> torch.Tensor:
        """One Adam step on the triplets (full-data rows); returns loss x batch size."""
        size = len(anchor)
        triplet = torch.cat([self.x[anchor], self.x[positive], self.x[negative]])
        a, p, q = self.model(triplet).split(size)
        loss = pn_loss(a, p, q, self.margin)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach() * size

    @torch.no_grad()
    def embed(self) -> np.ndarray:
        """All cells through the network in inference mode (no dropout)."""
        was_training = self.model.training
        self.model.eval()
        out = self.model(self.x).cpu().numpy().astype(np.float32)
        self.model.train(was_training)
        return out


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    epochs: int = 120,
    latent_dim: int = 2,
    k: int = 150,
    k_to_m_ratio: float = 0.75,
    margin: float = 1.0,
    batch_size: int = 64,
    lr: float = 1e-3,
    n_pcs: int = 50,
    scale: bool = True,
    dropout: float = 0.25,
    negatives: Negatives = "upstream",
    mnn_overwrite: bool = True,
    snapshot_epochs: Sequence[int] = (),
    device: str = "auto",
    progress: bool | None = None,
) -> AdapterResult:
    """Reimplementation of INSCT; returns the ``latent_dim`` embedding of every cell.

    ``snapshot_epochs``: embeddings after those epochs (0 = untrained network). Training
    runs epoch by epoch from one seeded stream, so the snapshot at epoch e equals the
    output of an e-epoch run with the same seed (CLAIRE trained one fresh model per
    epoch count). Cell types are never read.
    """
    codes, batch_names = batch_codes(adata, batch_key, "insct")
    if epochs < 0 or batch_size < 1 or k < 1 or latent_dim < 1:
        raise InputError("insct: epochs >= 0, batch_size >= 1, k >= 1, latent_dim >= 1 needed")
    check_snapshot_epochs(snapshot_epochs, epochs, "insct")
    torch_device = resolve_device(device)
    rng = np.random.default_rng(seed)
    pcs = pca_input(adata, n_pcs, scale, seed)
    sets = build_triplet_sets(pcs, codes, k, k_to_m_ratio, rng, mnn_overwrite)
    sampler = TripletSampler(sets, codes, negatives)
    with seeded(seed, torch_device):
        model = TripletEncoder(pcs.shape[1], latent_dim, dropout).to(torch_device)
        trainer = InsctTrainer(pcs, sampler, model, rng, torch_device, lr, batch_size, margin)
        train_log = run_epochs(
            "insct", epochs, trainer.train_epoch, trainer.embed, snapshot_epochs, progress
        )
        embedding = trainer.embed()
    uns = {
        "implementation": "reimplementation of lkmklsmn/insct tnn.py 0.0.2 + ivis 1.7.2 pn_loss",
        "negatives": negatives,
        "mnn_overwrite": int(mnn_overwrite),
        "scale": int(scale),
        "batches": ",".join(batch_names),
        "n_pcs": int(pcs.shape[1]),
        "n_mnn_cells": sets.n_mnn,
        "n_knn_cells": sets.n_knn,
        "n_residual_cells": sets.n_residual,
        "n_train_cells": len(sets.cells),
        "same_batch_negative_fraction": sampler.same_batch_negative_fraction(codes),
        "epochs": int(epochs),
        "loss": np.asarray(train_log.losses(), dtype=np.float64),
        "train_seconds": float(train_log.seconds),
        "device": str(torch_device),
    }
    return AdapterResult(embedding, snapshots=train_log.snapshots, uns={"insct": uns})
