"""MAT2 (Zhang et al., Bioinformatics 2021): a PyTorch reimplementation of the authors'
``BuildMAT2`` in manual (anchor) mode (Zhang-Jinglong/MAT2 at abb86e2; code of 878c388)
as the CLAIRE authors ran it (CLAIRE-release ``reproducibility/MAT``).

Input: the log-normalised HVGs, each cell L1-normalised and multiplied by the number of
genes G. Anchors: Seurat-style scored anchors in both directions
(:func:`~claire.bench.competitors.anchor_score.find_scored_anchors`: the project's CCA +
MNN seeds, scored by shared neighbours among k_score = 30 within- and cross-batch
neighbours with Seurat's 1 %/90 % quantile rescaling); the CLAIRE authors fed Seurat's own anchors.

Stage 1 trains the encoder E (G -> G/4 -> G/8 -> 20, ReLU, no dropout) on triplets: for
every cell with anchors a uniformly drawn partner p (score s_p) and a uniformly drawn
cell n of the whole dataset (s_n = 1; a draw equal to the cell or to p becomes the cell
itself with s_n = -s_p); loss max(0, |E(a)-E(p)| - |E(a)-E(n)| + (s_p + s_n) / 2).
Cells without anchors give p = n = a with zero scores; those triplets are dropped.
Stage 2 trains the consensus decoder R (20 -> G, ReLU) and the batch decoder D
([latent, batch one-hot] -> G/8 -> G) with E fixed: positive = a random cell of the same
batch, negative = a random cell of another batch; loss = triplet(D, margin 1) +
mean over a, p, n of MSE(R + D, x). Two Adam optimisers (lr 1e-3 as CLAIRE ran it,
coupled weight decay 0.01), batches of 256 from a fresh permutation, ``epochs`` epochs of
stage 1 then ``epochs`` of stage 2. Output: R(E(x)), scaled (no clipping), PCA-50.
No cell-type label is read.

Snapshots: a MAT2 model at e epochs is e encoder epochs *followed by* e decoder epochs,
not a moment of a longer run, so each snapshot epoch count is its own run, as the
CLAIRE authors trained a fresh model per count. Stage 1 of the e-epoch run is exactly the
first e epochs of the longest run (same init, same random streams per stage), so the
encoder epochs are shared and each snapshot e costs e extra decoder epochs (plus one
inference); the result equals a separate run with ``epochs=e`` bit for bit on CPU.

Deviations (documented, not behind options): a batch without any valid stage-1 triplet
is skipped (upstream would take a NaN-loss step); the output is computed in eval mode
(the same with dropout 0, the default and CLAIRE's setting).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from claire.bench.competitors.anchor_score import ScoredAnchors, find_scored_anchors
from claire.bench.contract import AdapterResult, InputError
from claire.bench.methods.pca import scaled_pca
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

VALID_SCORE = 1e-5  # a triplet counts if s_p or s_n exceeds this (upstream's threshold)
INFER_CHUNK = 4096


# ---- networks -------------------------------------------------------------------------


class Encoder(nn.Module):
    """G -> G//4 -> G//8 -> latent; ReLU and dropout after the hidden layers."""

    def __init__(self, n_genes: int, latent_dim: int = 20, dropout: float = 0.0) -> None:
        super().__init__()
        h1, h2 = n_genes // 4, n_genes // 8
        self.net = nn.Sequential(
            nn.Linear(n_genes, h1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h2, latent_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConsensusDecoder(nn.Module):
    """R: latent -> G with ReLU (MAT2's DecoderR)."""

    def __init__(self, n_genes: int, latent_dim: int = 20) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, n_genes), nn.ReLU())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class BatchDecoder(nn.Module):
    """D: [latent, batch one-hot] -> G//8 -> G (MAT2's DecoderD, linear output)."""

    def __init__(self, n_genes: int, n_batches: int, latent_dim: int = 20) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim + n_batches, n_genes // 8),
            nn.ReLU(),
            nn.Linear(n_genes // 8, n_genes),
        )

    def forward(self, z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, onehot], dim=1))


# ---- input and triplets ---------------------------------------------------------------


def l1_normalise(x: np.ndarray | sp.spmatrix) -> np.ndarray:
    """Each cell divided by its L1 norm and multiplied by the number of genes (dense
    float32; an all-zero cell stays zero), as MAT2's ``Preprocess``."""
    dense = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
    norms = np.abs(dense).sum(axis=1, keepdims=True)
    return (dense / np.where(norms > 0, norms, 1.0) * dense.shape[1]).astype(np.float32)


@dataclass(frozen=True)
class PartnerTable:
    """Each cell's anchor partners with their scores (CSR layout: cell -> slice)."""

    indptr: np.ndarray
    partner: np.ndarray
    score: np.ndarray

    @classmethod
    def from_anchors(cls, pairs: np.ndarray, score: np.ndarray, n_cells: int) -> PartnerTable:
        """Rows (cell1, cell2, score >= 0) add (cell2, score) to cell1's partners, in row
        order; rows with negative scores (explicit negatives, never from Seurat) are ignored."""
        keep = np.asarray(score) >= 0
        first, second = pairs[keep, 0], pairs[keep, 1]
        order = np.argsort(first, kind="stable")
        counts = np.bincount(first, minlength=n_cells)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return cls(indptr, second[order], np.asarray(score, dtype=np.float64)[keep][order])

    def counts(self, cells: np.ndarray) -> np.ndarray:
        return self.indptr[cells + 1] - self.indptr[cells]


@dataclass
class Triplets:
    """Anchor, positive and negative cell indices with the positive/negative scores."""

    anchor: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    s_pos: np.ndarray
    s_neg: np.ndarray

    def valid(self) -> np.ndarray:
        """Upstream's filter: triplets with s_p or s_n above 1e-5 enter the loss."""
        return (self.s_pos > VALID_SCORE) | (self.s_neg > VALID_SCORE)

    def subset(self, mask: np.ndarray) -> Triplets:
        return Triplets(*(v[mask] for v in vars(self).values()))


def encoder_triplets(
    cells: np.ndarray, table: PartnerTable, n_cells: int, rng: np.random.Generator
) -> Triplets:
    """Stage-1 triplets of ``cells`` (MAT2's EncoderManualTriplet, one draw per cell)."""
    counts = table.counts(cells)
    has = counts > 0
    pick = np.floor(rng.random(len(cells)) * np.maximum(counts, 1)).astype(np.int64)
    slot = np.where(has, table.indptr[cells] + pick, 0)
    positive = np.where(has, table.partner[slot] if len(table.partner) else cells, cells)
    s_pos = np.where(has, table.score[slot] if len(table.score) else 0.0, 0.0)
    drawn = rng.integers(0, n_cells, len(cells))
    collide = (drawn == cells) | (drawn == positive)
    negative = np.where(has & ~collide, drawn, cells)
    s_neg = np.where(has, np.where(collide, -s_pos, 1.0), 0.0)
    return Triplets(cells, positive, negative, s_pos, s_neg)


def margins(s_pos: torch.Tensor, s_neg: torch.Tensor) -> torch.Tensor:
    """MAT2's score-dependent margin (s_p + s_n) / 2."""
    return (s_pos + s_neg) / 2


def triplet_loss(
    za: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor, margin: torch.Tensor | float
) -> torch.Tensor:
    """mean max(0, |a - p| - |a - n| + margin), distances as F.pairwise_distance (eps 1e-6)."""
    gap = F.pairwise_distance(za, zp) - F.pairwise_distance(za, zn) + margin
    return gap.clamp(min=0).mean()


@dataclass(frozen=True)
class BatchIndex:
    """Cells grouped by batch code, for uniform draws within / outside a batch."""

    order: np.ndarray
    start: np.ndarray
    size: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> BatchIndex:
        order = np.argsort(codes, kind="stable")
        size = np.bincount(codes)
        return cls(order, np.concatenate([[0], np.cumsum(size)[:-1]]), size)


def decoder_triplets(
    cells: np.ndarray, codes: np.ndarray, index: BatchIndex, rng: np.random.Generator
) -> Triplets:
    """Stage-2 triplets (MAT2's DecoderTriplet with cluster = batch): the positive is a
    uniform cell of the same batch (possibly the cell itself), the negative a uniform
    cell of any other batch."""
    b = codes[cells]
    within = np.floor(rng.random(len(cells)) * index.size[b]).astype(np.int64)
    positive = index.order[index.start[b] + within]
    outside = len(codes) - index.size[b]
    r = np.floor(rng.random(len(cells)) * outside).astype(np.int64)
    r = np.where(r >= index.start[b], r + index.size[b], r)  # skip the cell's own block
    ones = np.ones(len(cells))
    return Triplets(cells, positive, index.order[r], ones, ones)


# ---- training -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mat2Settings:
    """MAT2's parameters (the adapter's ``method_params``), defaults as CLAIRE ran it:
    training, anchors (:func:`scored_anchors`), networks, output (:func:`embed_reconstruction`)."""

    # training: epochs per stage, both Adam optimisers
    epochs: int = 80
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 256
    # anchors
    k_anchor: int = 5
    k_filter: int | None = 200
    n_cca: int = 30
    k_score: int = 30
    # networks
    latent_dim: int = 20
    dropout: float = 0.0
    # output
    output: str = "pca"
    n_pcs: int = 50
    snapshot_epochs: Sequence[int] = ()
    device: str = "auto"
    progress: bool | None = None

    def snapshot_counts(self) -> list[int]:
        """The snapshot epoch counts within the run (0 to ``epochs``), sorted."""
        return sorted({int(e) for e in self.snapshot_epochs if 0 <= int(e) <= self.epochs})


PARAMETERS = Mat2Settings  # the parse-time config check reads its fields


@dataclass
class Mat2Modules:
    encoder: Encoder
    consensus: ConsensusDecoder
    batch: BatchDecoder


@dataclass
class Mat2Fit:
    """Reconstructions R(E(x)) per epoch count and the losses of each run."""

    reconstructions: dict[int, np.ndarray] = field(default_factory=dict)
    enc_loss: list[float] = field(default_factory=list)  # longest run, per epoch
    dec_loss: dict[int, list[float]] = field(default_factory=dict)  # per run, per epoch
    skipped_batches: int = 0
    decoder_epochs: int = 0


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _encoder_epoch(
    enc: Encoder,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    table: PartnerTable,
    rng: np.random.Generator,
    batch_size: int,
) -> tuple[float, int]:
    """One stage-1 epoch; returns the mean batch loss and the number of skipped batches."""
    losses, skipped = [], 0
    for cells in _batches(x.shape[0], batch_size, rng):
        t = encoder_triplets(cells, table, x.shape[0], rng)
        t = t.subset(t.valid())
        if len(t.anchor) == 0:
            skipped += 1
            continue
        idx = [torch.from_numpy(v).to(x.device) for v in (t.anchor, t.positive, t.negative)]
        s_pos, s_neg = (torch.from_numpy(v).to(x) for v in (t.s_pos, t.s_neg))
        loss = triplet_loss(*(enc(x[i]) for i in idx), margins(s_pos, s_neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return (float(np.mean(losses)) if losses else float("nan")), skipped


def decoder_loss(
    mods: Mat2Modules, x: torch.Tensor, onehot: torch.Tensor, idx: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Triplet loss on D (margin 1) plus the mean over a, p, n of MSE(R + D, x)."""
    with torch.no_grad():  # E is not updated in stage 2
        z = [mods.encoder(x[i]) for i in idx]
    d = [mods.batch(zi, onehot[i]) for zi, i in zip(z, idx, strict=True)]
    mse = sum(
        F.mse_loss(mods.consensus(zi) + di, x[i]) for zi, di, i in zip(z, d, idx, strict=True)
    )
    return triplet_loss(*d, 1.0) + mse / 3


def _decoder_epoch(
    mods: Mat2Modules,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    onehot: torch.Tensor,
    codes: np.ndarray,
    index: BatchIndex,
    rng: np.random.Generator,
    batch_size: int,
) -> float:
    losses = []
    for cells in _batches(x.shape[0], batch_size, rng):
        t = decoder_triplets(cells, codes, index, rng)
        idx = [torch.from_numpy(v).to(x.device) for v in (t.anchor, t.positive, t.negative)]
        loss = decoder_loss(mods, x, onehot, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


@torch.no_grad()
def reconstruct(mods: Mat2Modules, x: torch.Tensor) -> np.ndarray:
    """R(E(x)) of every cell (eval mode), as MAT2's ``evaluate``."""
    for module in (mods.encoder, mods.consensus):
        module.eval()
    out = [
        mods.consensus(mods.encoder(x[i : i + INFER_CHUNK])) for i in range(0, len(x), INFER_CHUNK)
    ]
    for module in (mods.encoder, mods.consensus):
        module.train()
    return torch.cat(out).cpu().numpy()


def _progress(total: int, desc: str, progress: bool | None) -> tqdm:
    return tqdm(total=total, desc=desc, disable=None if progress is None else not progress)


def train_mat2(
    x: np.ndarray,
    codes: np.ndarray,
    pairs: np.ndarray,
    scores: np.ndarray,
    settings: Mat2Settings,
    *,
    seed: int,
) -> Mat2Fit:
    """Train MAT2 on ``x`` (cells x genes, L1 x G normalised) with batch ``codes`` and
    scored anchor ``pairs``; returns R(E(x)) for ``epochs`` and every snapshot count
    (each equal to a separate run of that many epochs per stage)."""
    dev = resolve_device(settings.device)
    counts = sorted({*settings.snapshot_counts(), int(settings.epochs)})
    n, n_genes = x.shape
    n_batches = int(codes.max()) + 1
    table = PartnerTable.from_anchors(pairs, scores, n)
    index = BatchIndex.from_codes(codes)
    fit = Mat2Fit()
    with seeded(seed, dev):
        mods = Mat2Modules(
            Encoder(n_genes, settings.latent_dim, settings.dropout).to(dev),
            ConsensusDecoder(n_genes, settings.latent_dim).to(dev),
            BatchDecoder(n_genes, n_batches, settings.latent_dim).to(dev),
        )
        decoder_init = (
            copy.deepcopy(mods.consensus.state_dict()),
            copy.deepcopy(mods.batch.state_dict()),
        )
        data = torch.from_numpy(np.ascontiguousarray(x)).to(dev)
        onehot = torch.eye(n_batches, device=dev)[torch.from_numpy(codes).to(dev)]
        encoders = _train_encoder(mods.encoder, data, table, counts, seed, settings, fit)
        for e in counts:
            mods.encoder.load_state_dict(encoders[e])
            mods.consensus.load_state_dict(decoder_init[0])
            mods.batch.load_state_dict(decoder_init[1])
            torch.manual_seed(seed + 2)  # stage 2 draws the same stream in every run
            fit.dec_loss[e] = _train_decoders(mods, data, onehot, codes, index, e, seed, settings)
            fit.decoder_epochs += e
            fit.reconstructions[e] = reconstruct(mods, data)
    return fit


def _train_encoder(
    enc: Encoder,
    data: torch.Tensor,
    table: PartnerTable,
    counts: list[int],
    seed: int,
    settings: Mat2Settings,
    fit: Mat2Fit,
) -> dict[int, dict]:
    """Stage 1 up to the largest count; the encoder's state after each count's epochs."""
    opt = torch.optim.Adam(enc.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    rng = np.random.default_rng([seed, 1])
    states = {0: copy.deepcopy(enc.state_dict())}
    last = counts[-1]
    with _progress(last, "mat2 stage 1", settings.progress) as bar:
        for epoch in range(1, last + 1):
            loss, skipped = _encoder_epoch(enc, opt, data, table, rng, settings.batch_size)
            fit.enc_loss.append(loss)
            fit.skipped_batches += skipped
            bar.update()
            bar.set_postfix(loss=f"{loss:.4f}")
            log.info("mat2: stage 1 epoch %d/%d, triplet loss %.4f", epoch, last, loss)
            if epoch in counts:
                states[epoch] = copy.deepcopy(enc.state_dict())
    return states


def _train_decoders(
    mods: Mat2Modules,
    data: torch.Tensor,
    onehot: torch.Tensor,
    codes: np.ndarray,
    index: BatchIndex,
    epochs: int,
    seed: int,
    settings: Mat2Settings,
) -> list[float]:
    """Stage 2 of a run with ``epochs`` epochs per stage (fresh optimiser and stream)."""
    params = [*mods.consensus.parameters(), *mods.batch.parameters()]
    opt = torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
    batch_size = settings.batch_size
    rng = np.random.default_rng([seed, 2])
    losses = []
    with _progress(epochs, f"mat2 stage 2 ({epochs} epochs)", settings.progress) as bar:
        for epoch in range(1, epochs + 1):
            losses.append(_decoder_epoch(mods, opt, data, onehot, codes, index, rng, batch_size))
            bar.update()
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            log.info(
                "mat2: stage 2 (run of %d epochs) epoch %d/%d, loss %.4f",
                epochs,
                epoch,
                epochs,
                losses[-1],
            )
    return losses


# ---- adapter --------------------------------------------------------------------------


def embed_reconstruction(rec: np.ndarray, n_pcs: int, seed: int, output: str) -> np.ndarray:
    """CLAIRE's ``hvgPipe(rec, scale=True, npcs=50)``: scale without clipping, then PCA
    (``output="pca"``); ``output="reconstruction"`` returns the scaled G-d matrix (the
    space in which the CLAIRE authors computed MAT2's kBET)."""
    if output == "reconstruction":
        std = rec.std(axis=0)
        return ((rec - rec.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)
    work = ad.AnnData(X=np.asarray(rec, dtype=np.float32))
    return scaled_pca(work, n_comps=n_pcs, seed=seed, max_value=None).astype(np.float32)


def scored_anchors(
    adata: ad.AnnData, batch_key: str, seed: int, settings: Mat2Settings | None = None
) -> ScoredAnchors:
    """The Seurat-scored anchors (both directions) that :func:`run` trains stage 1 on, with
    the anchor fields of ``settings`` (default: :class:`Mat2Settings`); the parity check
    feeds the same table to the authors' ``BuildMAT2``."""
    settings = settings or Mat2Settings()
    return find_scored_anchors(
        adata.X,
        adata.obs[batch_key].to_numpy(),
        k_anchor=settings.k_anchor,
        n_components=settings.n_cca,
        k_filter=settings.k_filter,
        k_score=settings.k_score,
        seed=seed,
    )


def run(adata: ad.AnnData, batch_key: str, seed: int, **params: Any) -> AdapterResult:
    """Train MAT2 (manual mode, scored anchors) on ``adata.X`` and embed R(E(x));
    ``params`` are :class:`Mat2Settings`' fields.

    ``snapshot_epochs``: one MAT2 model per epoch count (see the module doc for the cost);
    ``epochs`` counts epochs per stage.
    """
    settings = Mat2Settings(**params)
    if batch_key not in adata.obs.columns:
        raise InputError(f"mat2: obs[{batch_key!r}] is missing")
    if settings.output not in ("pca", "reconstruction"):
        raise InputError(f"mat2: output must be 'pca' or 'reconstruction', got {settings.output!r}")
    anchors = scored_anchors(adata, batch_key, seed, settings)
    if len(anchors) == 0:
        raise InputError("mat2: no anchors between batches; nothing to train stage 1 on")
    codes = pd.Categorical(adata.obs[batch_key]).codes.astype(np.int64)
    wanted = settings.snapshot_counts()
    fit = train_mat2(
        l1_normalise(adata.X), codes, anchors.pairs, anchors.score, settings, seed=seed
    )
    epochs = settings.epochs
    embed = {
        e: embed_reconstruction(fit.reconstructions[e], settings.n_pcs, seed, settings.output)
        for e in {*wanted, epochs}
    }
    with_anchor = np.unique(anchors.pairs[:, 0])
    stats = {
        "enc_loss": np.asarray(fit.enc_loss[:epochs], dtype=np.float64),
        "dec_loss": np.asarray(fit.dec_loss[epochs], dtype=np.float64),
        "n_anchors": len(anchors),
        "cells_with_anchors": len(with_anchor),
        "anchor_score_mean": float(anchors.score.mean()),
        "skipped_batches": fit.skipped_batches,
        "decoder_epochs_trained": fit.decoder_epochs,
    }
    snapshots = {e: embed[e] for e in wanted}
    return AdapterResult(embed[epochs], snapshots=snapshots, uns={"mat2": stats})
