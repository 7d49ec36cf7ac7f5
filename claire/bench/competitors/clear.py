"""CLEAR (Han et al., Brief. Bioinform. 2022): a PyTorch reimplementation of the MoCo
training of ``ml4bio/CLEAR`` (``CLEAR.py``, ``pcl/builder.py``, ``pcl/loader.py`` at
``ceda5fa``, identical to the August 2021 code) with its five scRNA-seq augmentations.

This is a reimplementation, not the authors' code (theirs needs CUDA and PyTorch 1.8).
The CLAIRE authors left **no CLEAR script** (CLAIRE-release only writes a z-scored HVG
file "for clear" from its SMILE notebooks), so every setting here is the upstream
``CLEAR.py`` default, on that z-scored input:

* input: the log-normalised HVGs z-scored per gene without clipping (StandardScaler);
* encoders: G -> 1024 -> 128, ReLU after both layers (dropout 0), L2-normalised output;
  a query encoder trained by SGD and a key encoder updated as 0.999 key + 0.001 query
  before the keys of each step are computed; a 1024-key queue initialised randn and
  column-normalised; one loss direction: cross-entropy of [q.k, q.queue] / 0.2 against
  the positive, then the step's keys are enqueued;
* two views per cell, each made by five operations in this order, each applied with
  probability 0.5: mask 20 % of genes to 0; add N(0, 0.5^2) noise to 80 % of genes (the
  upstream ``sigma=0.2`` argument is ignored; the code uses 0.5); swap int(0.1 G / 2)
  gene pairs drawn with replacement; copy 25 % of genes from one random cell of the whole
  dataset ("instance crossover"); replace 25 % of genes, each by that gene's value in an
  independently drawn random cell ("cross over with many");
* SGD (momentum 0.9, weight decay 1e-6), lr 5e-3 scaled by 0.1 at epochs 100 and 120
  (``cos=True``: per-epoch cosine schedule), batch 512 with the last partial batch
  dropped, 100 epochs; below 512 cells the batch and the queue hold all cells;
* embedding: the key (momentum) encoder's L2-normalised 128-d output in eval mode.

Differences from upstream, on purpose: the crossover does **not** write the cell's values
into the shared data pool (upstream's bug makes the pool drift during training; here the
input stays unchanged); augmentations are vectorised per mini-batch in torch with the
same per-cell distribution; NumPy/torch are all seeded from ``seed`` (upstream leaves
the augmentations unseeded, so its augmentation stream repeats every epoch).

With these defaults the key encoder (the output) moves 0.1 % of the way per step, so on
small data (1,556 cells: 3 steps per epoch) 100 epochs leave it close to its random init.

The maintainer's recommendation in ml4bio/CLEAR issue #1 (asked by the CLAIRE first
author) was ``--epochs 200 --lr 1 --cos`` with batch 512; pass those for that variant.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from claire.bench.competitors._contrastive import (
    batch_codes,
    check_snapshot_epochs,
    dense_float32,
    run_epochs,
    standardize,
)
from claire.bench.contract import AdapterResult, InputError
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

OPERATIONS = ("mask", "noise", "swap", "crossover", "replace")


# ---------------------------------------------------------------- augmentations


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (in ``OPERATIONS`` order) and sizes of CLEAR's five augmentations."""

    probs: tuple[float, float, float, float, float] = (0.5, 0.5, 0.5, 0.5, 0.5)
    mask_fraction: float = 0.2
    noise_fraction: float = 0.8
    noise_std: float = 0.5
    swap_fraction: float = 0.1
    cross_fraction: float = 0.25
    replace_fraction: float = 0.25

    @classmethod
    def with_prob(cls, prob: float) -> AugmentConfig:
        return cls(probs=(prob,) * len(OPERATIONS))


def random_gene_subsets(
    n_rows: int, n_genes: int, size: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """``size`` distinct uniformly random gene indices per row, shape (n_rows, size)."""
    scores = torch.rand(n_rows, n_genes, generator=generator, device=device)
    return scores.topk(size, dim=1, sorted=False).indices


def _mask(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Set int(G * 0.2) random genes of each row to 0."""
    genes = random_gene_subsets(*x.shape, int(x.shape[1] * cfg.mask_fraction), gen, x.device)
    return x.scatter(1, genes, 0.0)


def _noise(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Add N(0, noise_std^2) to int(G * 0.8) random genes of each row."""
    size = int(x.shape[1] * cfg.noise_fraction)
    genes = random_gene_subsets(*x.shape, size, gen, x.device)
    noise = torch.randn(x.shape[0], size, generator=gen, device=x.device) * cfg.noise_std
    return x.scatter(1, genes, x.gather(1, genes) + noise)


def swap_genes(x: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Swap gene pairs (B, P, 2) per row as NumPy's ``p[a], p[b] = p[b], p[a]`` does:
    every write reads the old values and, at a position written twice, the last write
    (b-side after a-side, later pairs after earlier ones) wins."""
    targets = torch.cat([pairs[..., 0], pairs[..., 1]], dim=1)
    sources = torch.cat([pairs[..., 1], pairs[..., 0]], dim=1)
    order = torch.arange(targets.shape[1], device=x.device).expand_as(targets)
    last = torch.full_like(x, -1, dtype=torch.long)
    last = last.scatter_reduce(1, targets, order, reduce="amax", include_self=True)
    source_gene = sources.gather(1, last.clamp(min=0))
    return torch.where(last >= 0, x.gather(1, source_gene), x)


def _swap(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Swap int(G * 0.1 / 2) gene pairs per row, indices drawn with replacement."""
    n_rows, n_genes = x.shape
    n_pairs = int(n_genes * cfg.swap_fraction / 2)
    if n_pairs == 0:
        return x
    pairs = torch.randint(n_genes, (n_rows, n_pairs, 2), generator=gen, device=x.device)
    return swap_genes(x, pairs)


def _crossover(
    x: torch.Tensor, pool: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator
) -> torch.Tensor:
    """Copy int(G * 0.25) random genes from one uniformly drawn cell of the pool."""
    size = int(x.shape[1] * cfg.cross_fraction)
    genes = random_gene_subsets(*x.shape, size, gen, x.device)
    partner = torch.randint(pool.shape[0], (x.shape[0],), generator=gen, device=x.device)
    return x.scatter(1, genes, pool[partner].gather(1, genes))


def _replace(
    x: torch.Tensor, pool: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator
) -> torch.Tensor:
    """Replace int(G * 0.25) random genes, each by its value in an independent random cell."""
    size = int(x.shape[1] * cfg.replace_fraction)
    genes = random_gene_subsets(*x.shape, size, gen, x.device)
    donors = torch.randint(pool.shape[0], genes.shape, generator=gen, device=x.device)
    return x.scatter(1, genes, pool[donors, genes])


def augment(
    x: torch.Tensor, pool: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random view of every row of ``x`` and which operations it got, (B, 5) bool.

    ``pool`` (all cells) supplies the crossover and replacement donors and is never
    modified; neither is ``x``.
    """
    probs = torch.tensor(cfg.probs, device=x.device)
    applied = torch.rand(x.shape[0], len(OPERATIONS), generator=gen, device=x.device) < probs
    out = x.clone()
    steps = (
        lambda v: _mask(v, cfg, gen),
        lambda v: _noise(v, cfg, gen),
        lambda v: _swap(v, cfg, gen),
        lambda v: _crossover(v, pool, cfg, gen),
        lambda v: _replace(v, pool, cfg, gen),
    )
    for column, step in enumerate(steps):
        rows = applied[:, column].nonzero().squeeze(1)
        if rows.numel():
            out[rows] = step(out[rows])
    return out, applied


# ---------------------------------------------------------------- MoCo


class MLPEncoder(nn.Module):
    """CLEAR's encoder: Linear-ReLU-Dropout twice, G -> 1024 -> ``dim``."""

    def __init__(self, n_genes: int, dim: int = 128, hidden: int = 1024, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_genes, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def info_nce(
    q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """MoCo's single-direction loss: cross-entropy of [q.k, q.queue] / T, target 0.

    ``q`` and ``k`` are (B, d) unit rows, ``queue`` is (d, r) unit columns. Returns the
    mean loss and the logits.
    """
    positive = (q * k).sum(dim=1, keepdim=True)
    logits = torch.cat([positive, q @ queue], dim=1) / temperature
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target), logits


class MoCo(nn.Module):
    """Query and momentum key encoders with a queue of keys (CLEAR's ``pcl.builder.MoCo``)."""

    def __init__(
        self,
        n_genes: int,
        dim: int = 128,
        queue_size: int = 1024,
        momentum: float = 0.999,
        temperature: float = 0.2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.momentum = momentum
        self.temperature = temperature
        self.encoder_q = MLPEncoder(n_genes, dim, dropout=dropout)
        self.encoder_k = MLPEncoder(n_genes, dim, dropout=dropout)
        for param_q, param_k in zip(
            self.encoder_q.parameters(), self.encoder_k.parameters(), strict=True
        ):
            param_k.data.copy_(param_q.data)
            param_k.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def momentum_update(self) -> None:
        for param_q, param_k in zip(
            self.encoder_q.parameters(), self.encoder_k.parameters(), strict=True
        ):
            param_k.data.mul_(self.momentum).add_(param_q.data, alpha=1.0 - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        size, ptr = keys.shape[0], int(self.queue_ptr)
        if self.queue.shape[1] % size:
            raise ValueError(f"queue size {self.queue.shape[1]} is not a multiple of {size}")
        self.queue[:, ptr : ptr + size] = keys.T
        self.queue_ptr[0] = (ptr + size) % self.queue.shape[1]

    def forward(
        self, view_q: torch.Tensor, view_k: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss and logits of one step; updates the key encoder first, the queue last."""
        with torch.no_grad():
            self.momentum_update()
            k = F.normalize(self.encoder_k(view_k), dim=1)
        q = F.normalize(self.encoder_q(view_q), dim=1)
        loss, logits = info_nce(q, k, self.queue.clone(), self.temperature)
        self.enqueue(k)
        return loss, logits

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The key encoder's L2-normalised output (CLEAR's ``is_eval`` path)."""
        return F.normalize(self.encoder_k(x), dim=1)


# ---------------------------------------------------------------- training


def epoch_lr(
    lr: float, epoch: int, epochs: int, cos: bool, schedule: Sequence[int] = (100, 120)
) -> float:
    """CLEAR's ``adjust_learning_rate``: cosine per epoch, or x0.1 at each milestone."""
    if cos:
        return lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    return lr * 0.1 ** sum(epoch >= m for m in schedule)


class ClearTrainer:
    """One epoch of CLEAR training at a time, plus the full-data embedding."""

    def __init__(
        self,
        data: torch.Tensor,
        model: MoCo,
        cfg: AugmentConfig,
        seed: int,
        batch_size: int,
        epochs: int,
        lr: float,
        cos: bool,
        schedule: Sequence[int],
        sgd_momentum: float,
        weight_decay: float,
    ) -> None:
        self.data = data
        self.model = model
        self.cfg = cfg
        self.batch_size = batch_size
        self.epochs, self.lr, self.cos, self.schedule = epochs, lr, cos, tuple(schedule)
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(
            params, lr=lr, momentum=sgd_momentum, weight_decay=weight_decay
        )
        # own streams for the shuffling and the augmentations, apart from the weight init
        shuffle_seed, augment_seed = np.random.SeedSequence(seed).generate_state(2).tolist()
        self.shuffle_gen = torch.Generator().manual_seed(shuffle_seed)
        self.augment_gen = torch.Generator(device=data.device).manual_seed(augment_seed)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        lr = epoch_lr(self.lr, epoch, self.epochs, self.cos, self.schedule)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        order = torch.randperm(self.data.shape[0], generator=self.shuffle_gen)
        n_steps = self.data.shape[0] // self.batch_size  # drop_last=True
        loss_sum = torch.zeros((), device=self.data.device)
        correct = torch.zeros((), device=self.data.device)
        for step in range(n_steps):
            rows = order[step * self.batch_size : (step + 1) * self.batch_size]
            x = self.data[rows.to(self.data.device)]
            view_q, _ = augment(x, self.data, self.cfg, self.augment_gen)
            view_k, _ = augment(x, self.data, self.cfg, self.augment_gen)
            loss, logits = self.model(view_q, view_k)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += loss.detach()
            correct += (logits.detach().argmax(dim=1) == 0).sum()
        n_seen = max(n_steps * self.batch_size, 1)
        return {
            "loss": float(loss_sum) / max(n_steps, 1),
            "accuracy": 100.0 * float(correct) / n_seen,
            "lr": lr,
        }

    @torch.no_grad()
    def embed(self) -> np.ndarray:
        was_training = self.model.training
        self.model.eval()
        chunk = 5 * self.batch_size
        parts = [
            self.model.embed(self.data[i : i + chunk]) for i in range(0, len(self.data), chunk)
        ]
        self.model.train(was_training)
        return torch.cat(parts).cpu().numpy().astype(np.float32)


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    epochs: int = 100,
    lr: float = 5e-3,
    cos: bool = False,
    schedule: Sequence[int] = (100, 120),
    batch_size: int = 512,
    queue_size: int = 1024,
    momentum: float = 0.999,
    temperature: float = 0.2,
    latent_dim: int = 128,
    sgd_momentum: float = 0.9,
    weight_decay: float = 1e-6,
    aug_prob: float = 0.5,
    dropout: float = 0.0,
    scale: bool = True,
    snapshot_epochs: Sequence[int] = (),
    device: str = "auto",
    progress: bool | None = None,
) -> AdapterResult:
    """Reimplementation of CLEAR; returns the momentum encoder's 128-d unit embedding.

    Label-free: the batch column is only checked (CLEAR ignores batches); cell types are
    never read. ``snapshot_epochs``: embeddings after those epochs of this run (0 = before
    training); with ``cos`` the schedule spans the whole run, so a snapshot is not the
    same as a shorter run.
    """
    batch_codes(adata, batch_key, "clear")
    if epochs < 0 or batch_size < 1 or queue_size < 1:
        raise InputError("clear: epochs >= 0, batch_size >= 1 and queue_size >= 1 needed")
    check_snapshot_epochs(snapshot_epochs, epochs, "clear")
    x = dense_float32(adata.X)
    x = standardize(x) if scale else x
    if x.shape[0] < batch_size:  # upstream: below the batch size, batch = queue = all cells
        batch_size = queue_size = x.shape[0]
    if queue_size % batch_size:
        raise InputError(f"clear: queue_size {queue_size} must be a multiple of {batch_size}")
    torch_device = resolve_device(device)
    with seeded(seed, torch_device):
        model = MoCo(x.shape[1], latent_dim, queue_size, momentum, temperature, dropout)
        model = model.to(torch_device)
        data = torch.from_numpy(x).to(torch_device)
        trainer = ClearTrainer(
            data,
            model,
            AugmentConfig.with_prob(aug_prob),
            seed,
            batch_size,
            epochs,
            lr,
            cos,
            schedule,
            sgd_momentum,
            weight_decay,
        )
        train_log = run_epochs(
            "clear", epochs, trainer.train_epoch, trainer.embed, snapshot_epochs, progress
        )
        embedding = trainer.embed()
    uns = {
        "implementation": "reimplementation of ml4bio/CLEAR (MoCo, pcl.builder/pcl.loader)",
        "settings": "upstream CLEAR.py defaults; the CLAIRE authors left no CLEAR script",
        "epochs": int(epochs),
        "lr": float(lr),
        "cos": int(cos),
        "batch_size": int(batch_size),
        "queue_size": int(queue_size),
        "scale": int(scale),
        "loss": np.asarray(train_log.losses(), dtype=np.float64),
        "accuracy": np.asarray([r["accuracy"] for r in train_log.history], dtype=np.float64),
        "train_seconds": float(train_log.seconds),
        "device": str(torch_device),
    }
    return AdapterResult(embedding, snapshots=train_log.snapshots, uns={"clear": uns})
