"""Pieces shared by the deep-clustering competitors (DESC, scDCC).

Both follow DEC (Xie et al. 2016): an encoder's latent z, cluster centres mu, the Student-t
soft assignment q, the sharpened target p and a KL(p || q) clustering loss, started from a
clustering of the pretrained latent. This module holds those formulas, the Louvain
initialisation through scanpy (seeded), the label-change stopping statistic, Keras-style
early stopping, and the snapshot bookkeeping of both adapters.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from claire.bench.contract import InputError

log = logging.getLogger(__name__)

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the clip of Keras' "kld" loss


def soft_assign(z: torch.Tensor, mu: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Student-t soft assignment q_ij = (1 + |z_i - mu_j|^2 / alpha)^(-(alpha+1)/2),
    normalised over clusters j (rows sum to 1)."""
    dist2 = torch.sum((z.unsqueeze(1) - mu.unsqueeze(0)) ** 2, dim=2)
    q = (1.0 + dist2 / alpha) ** (-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's target p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij."""
    weight = q**2 / q.sum(dim=0, keepdim=True)
    return weight / weight.sum(dim=1, keepdim=True)


def keras_kld(p: torch.Tensor, q: torch.Tensor, eps: float = KERAS_EPSILON) -> torch.Tensor:
    """Keras' ``"kld"`` loss as DESC compiles it: p and q clipped to [eps, 1],
    sum_j p log(p / q) per cell, mean over the cells of the batch."""
    p = torch.clamp(p, eps, 1.0)
    q = torch.clamp(q, eps, 1.0)
    return torch.mean(torch.sum(p * torch.log(p / q), dim=1))


def delta_label(new: np.ndarray, old: np.ndarray) -> float:
    """Share of cells whose hard assignment changed (the DEC stopping statistic)."""
    return float(np.count_nonzero(np.asarray(new) != np.asarray(old)) / max(len(new), 1))


def refresh_targets(q: torch.Tensor, last: np.ndarray) -> tuple[torch.Tensor, np.ndarray, float]:
    """DEC's target update from the soft assignments ``q``: the target distribution, the
    hard labels and the share of them changed since ``last``."""
    p = target_distribution(q)
    labels = q.argmax(dim=1).cpu().numpy()
    return p, labels, delta_label(labels, last)


def louvain_clusters(
    features: np.ndarray, n_neighbors: int, resolution: float, seed: int
) -> np.ndarray:
    """Integer Louvain labels of the cells: scanpy's ``pp.neighbors(use_rep="X")`` and
    ``tl.louvain`` (vtraag flavour, scanpy's defaults otherwise), both seeded with
    ``seed``. Labels are scanpy's (0 = largest cluster)."""
    import scanpy as sc  # deferred: importing scanpy takes seconds

    work = ad.AnnData(np.ascontiguousarray(features, dtype=np.float32))
    sc.pp.neighbors(work, n_neighbors=n_neighbors, use_rep="X", random_state=seed)
    sc.tl.louvain(work, resolution=resolution, random_state=seed)
    return work.obs["louvain"].astype(int).to_numpy()


def cluster_means(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean feature vector of each label, rows in ascending label order (pandas groupby)."""
    frame = pd.DataFrame(np.asarray(features, dtype=np.float64))
    return frame.groupby(np.asarray(labels)).mean().to_numpy()


@dataclass(frozen=True)
class LouvainInit:
    """A Louvain initialisation: labels of all cells, centres (k x d), k."""

    labels: np.ndarray
    centroids: np.ndarray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def louvain_init(
    features: np.ndarray,
    n_neighbors: int,
    resolution: float,
    seed: int,
    method: str,
    max_cells: int | None = None,
) -> LouvainInit:
    """Louvain on the pretrained latent; centroids = the clusters' mean features.

    With ``max_cells`` and more cells than that, Louvain runs on a seeded random subset (DESC
    subsamples 200,000 cells) and the other cells get the nearest centroid's label. One
    cluster only cannot start DEC: raises :class:`InputError` naming the resolution.
    """
    features = np.asarray(features, dtype=np.float32)
    n = features.shape[0]
    subset = np.arange(n)
    if max_cells is not None and n > max_cells:
        subset = np.sort(np.random.default_rng(seed).choice(n, max_cells, replace=False))
        log.info("%s: Louvain initialisation on %d of %d cells", method, max_cells, n)
    labels = louvain_clusters(features[subset], n_neighbors, resolution, seed)
    centroids = cluster_means(features[subset], labels)
    if centroids.shape[0] < 2:
        raise InputError(
            f"{method}: Louvain (resolution {resolution}, {n_neighbors} neighbours) found a single "
            "cluster in the pretrained latent; choose a larger resolution"
        )
    if subset.size < n:
        centres = centroids.astype(np.float32)
        dist = (centres**2).sum(1)[None, :] - 2.0 * features @ centres.T
        full = dist.argmin(axis=1)
        full[subset] = labels
        labels = full
    log.info("%s: Louvain initialisation found %d clusters", method, centroids.shape[0])
    return LouvainInit(labels=labels, centroids=centroids)


class KerasEarlyStopping:
    """``keras.callbacks.EarlyStopping(monitor="loss", mode="min")`` of TF 2.x: an epoch
    improves when its loss is more than ``min_delta`` below the best so far; training
    stops after ``patience`` consecutive epochs without improvement."""

    def __init__(self, patience: int, min_delta: float = 1e-4) -> None:
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.best = math.inf
        self.wait = 0

    def stop(self, loss: float) -> bool:
        """Record one epoch's loss; True when training should stop now."""
        if loss + self.min_delta < self.best:
            self.best = loss
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience


def epoch_permutation(n: int, generator: torch.Generator) -> torch.Tensor:
    """A fresh shuffle of the cell indices from the run's own generator."""
    return torch.randperm(n, generator=generator)


def rows(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``t[idx]`` for a 1-d index: the same rows, copied by the cheaper ``index_select``."""
    return t.index_select(0, idx)


def minibatches(order: torch.Tensor, batch_size: int) -> Iterable[torch.Tensor]:
    """Consecutive chunks of ``order``; the last partial chunk is kept (Keras, DataLoader)."""
    return torch.split(order, batch_size)


@dataclass
class Snapshots:
    """Embeddings at requested epochs of one training stage (0 = before the stage).

    Epochs after an early end of the stage get the final embedding (:meth:`finish`).
    """

    wanted: set[int]
    embed: Callable[[], np.ndarray]
    taken: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def create(
        cls, epochs: Iterable[int], embed: Callable[[], np.ndarray], method: str
    ) -> Snapshots:
        wanted = {int(e) for e in epochs}
        negative = sorted(e for e in wanted if e < 0)
        if negative:
            raise InputError(f"{method}: snapshot_epochs {negative} are negative")
        return cls(wanted, embed)

    @classmethod
    def per_stage(
        cls, epochs: Iterable[int], stage: str, embed: Callable[[], np.ndarray], method: str
    ) -> tuple[Snapshots, Snapshots]:
        """(pretraining, clustering) snapshots: ``epochs`` go to the stage named by
        ``stage`` (``"pretrain"`` or ``"clustering"``), none to the other."""
        epochs = list(epochs)
        return (
            cls.create(epochs if stage == "pretrain" else (), embed, method),
            cls.create(epochs if stage == "clustering" else (), embed, method),
        )

    def at(self, epoch: int) -> None:
        """Take the snapshot of ``epoch`` when it was requested."""
        if epoch in self.wanted and epoch not in self.taken:
            self.taken[epoch] = self.embed()

    def finish(self, final: np.ndarray) -> dict[int, np.ndarray]:
        """All requested snapshots; those the stage did not reach are the final embedding."""
        for epoch in self.wanted - set(self.taken):
            self.taken[epoch] = final
        return dict(sorted(self.taken.items()))


@torch.no_grad()
def encode_all(
    encode: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """``encode`` applied to ``x`` in chunks, without gradients."""
    return torch.cat([encode(chunk) for chunk in torch.split(x, batch_size)])


@dataclass(kw_only=True)
class SeededTrainer:
    """What every deep-clustering trainer holds besides its data and network: the run's
    seed and the generator of its minibatch shuffles, the minibatch size, progress bars."""

    seed: int
    batch_size: int = 256
    progress: bool | None = None
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def progress_bar(self, desc: str, total: int) -> tqdm:
        """An epoch bar; ``progress=None`` leaves tqdm to decide (shown on a terminal)."""
        disable = None if self.progress is None else not self.progress
        return tqdm(total=total, desc=desc, unit="epoch", disable=disable)
