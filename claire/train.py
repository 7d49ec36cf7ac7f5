"""CLAIRE's two-stage training loop (paper 2.1-2.5) and its hyper-parameters.

Stage 1 trains on all seeds; at ``refine_epoch`` the seeds are filtered on the stage-1
embedding (claire.refine) and stage 2 continues on the retained ones. Training is
seeded: on CPU the same seed gives a bit-identical embedding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from claire.construct import DeviceCSR, PositivePairSampler
from claire.model import MoCo
from claire.neighbors import EXACT_LIMIT
from claire.pairs import find_seeds, intra_batch_knn, neighbour_space
from claire.refine import RefinementStats, refine_seeds, true_seed_fraction

log = logging.getLogger(__name__)

EMBED_CHUNK = 4096  # cells embedded per forward pass at inference
VARIANTS = ("full", "var1", "var2")  # CLAIRE and its two ablations (paper section 3.5)


@dataclass(frozen=True)
class ClaireParams:
    """Hyper-parameters; defaults are the paper's (section 2.5, DESIGN.md section 3)."""

    epochs: int = 120
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-5
    lr_milestones: tuple[int, ...] = ()  # epochs at which lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    temperature: float = 0.1  # paper 0.1, reference code 0.07
    momentum: float = 0.999
    queue_size: int = 2048
    latent_dim: int = 128
    dropout: float = 0.3
    relu_before_norm: bool = False  # reference code: True
    alpha: float = 0.5
    knn: int = 10
    k_anchor: int = 5
    k_filter: int | None = 200  # Seurat's anchor filter; None = keep every MNN pair
    n_cca: int = 30
    n_pcs: int = 50
    variant: str = "full"  # "var1": no construction strategy, "var2": no refinement
    refine_epoch: int | None = 4  # None: no refinement
    eta: float = 0.5
    snapshot_epochs: tuple[int, ...] = ()
    exact_knn_limit: float = EXACT_LIMIT
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("lr_milestones", "snapshot_epochs"):
            object.__setattr__(self, name, tuple(int(e) for e in getattr(self, name) or ()))
        positive = ("epochs", "batch_size", "queue_size", "latent_dim", "knn", "k_anchor")
        for name in (*positive, "n_cca", "n_pcs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        checks = {
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "lr_gamma": self.lr_gamma > 0,
            "temperature": self.temperature > 0,
            "momentum": 0 <= self.momentum < 1,
            "dropout": 0 <= self.dropout < 1,
            "alpha": 0 <= self.alpha <= 1,
            "eta": 0 <= self.eta <= 1,
            "seed": self.seed >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"invalid {name}: {getattr(self, name)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.k_filter is not None and self.k_filter < 1:
            raise ValueError(f"k_filter must be >= 1 or None, got {self.k_filter}")
        if self.refine_epoch is not None and self.refine_epoch < 1:
            raise ValueError(f"refine_epoch must be >= 1 or None, got {self.refine_epoch}")
        bad = [e for e in self.snapshot_epochs if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"snapshot_epochs {bad} outside [0, epochs={self.epochs}]")

    @classmethod
    def from_dict(cls, values: Mapping) -> ClaireParams:
        """Build from a mapping (e.g. a config block); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown CLAIRE parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(values))

    @property
    def construction(self) -> bool:
        """Whether positives are built by the mixup construction strategy (not var1)."""
        return self.variant != "var1"

    @property
    def refinement_epoch(self) -> int | None:
        """Epoch at which seeds are refined, or None (var2, or refine_epoch None)."""
        return None if self.variant == "var2" else self.refine_epoch

    def as_dict(self) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


@dataclass
class TrainResult:
    """Outputs of :func:`train_claire`."""

    model: MoCo
    embedding: np.ndarray
    snapshots: dict[int, np.ndarray]
    history: list[dict]
    refinement: dict
    n_seeds: int
    device: str
    timings: dict = field(default_factory=dict)
    initial_seeds: np.ndarray | None = None  # n x 2 cell indices before refinement
    final_seeds: np.ndarray | None = None  # the seeds of the last epoch (after refinement)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to torch."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return resolved


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNGs (weight init, dropout) and, on CPU, enable deterministic
    kernels (bit-identical reruns); the caller's RNG state and settings are restored.

    On CUDA the run is seeded but not forced onto (slower) deterministic kernels.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def check_inputs(x: np.ndarray | sp.spmatrix, batch: np.ndarray) -> tuple[object, np.ndarray]:
    """Validate the expression matrix and batch labels; return them normalised."""
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 8:
        raise ValueError(f"expected a cells x genes matrix with >= 2 cells, >= 8 genes: {x.shape}")
    batch = np.asarray(batch)
    if batch.shape != (x.shape[0],):
        raise ValueError(f"batch has shape {batch.shape}, expected ({x.shape[0]},)")
    if pd.isna(batch).any():
        raise ValueError("batch labels contain missing values")
    if len(np.unique(batch.astype(str))) < 2:
        raise ValueError("CLAIRE needs at least two batches")
    values = x.data if sp.issparse(x) else np.asarray(x)
    if not np.all(np.isfinite(values)):
        raise ValueError("the expression matrix contains NaN or infinite values")
    return (
        sp.csr_matrix(x, dtype=np.float32) if sp.issparse(x) else np.asarray(x, np.float32)
    ), batch.astype(str)


@torch.no_grad()
def embed_all(model: MoCo, data: DeviceCSR) -> np.ndarray:
    """Embedding (n_cells x latent, float32) of every row of ``data`` (dropout off)."""
    chunks = []
    for start in range(0, data.shape[0], EMBED_CHUNK):
        idx = torch.arange(start, min(start + EMBED_CHUNK, data.shape[0]), device=data.device)
        chunks.append(model.embed(data.rows(idx)).cpu())
    return torch.cat(chunks).numpy()


def train_claire(
    x: np.ndarray | sp.spmatrix,
    batch: np.ndarray,
    params: ClaireParams | None = None,
    labels: np.ndarray | None = None,
    progress: bool = True,
    seeds: np.ndarray | None = None,
    knn: np.ndarray | None = None,
) -> TrainResult:
    """Train CLAIRE on log-normalised HVG expression ``x`` (cells x genes).

    ``labels`` (optional, one per cell) are used only to report the share of true seeds.
    ``seeds`` (n x 2 cell indices) and ``knn`` (cells x k) replace the computed seeds and
    intra-batch neighbours when given (for experiments such as injected false seeds).
    """
    params = params or ClaireParams()
    x, batch = check_inputs(x, batch)
    if labels is not None and len(labels) != x.shape[0]:
        raise ValueError(f"labels has length {len(labels)}, expected {x.shape[0]}")
    device = resolve_device(params.device)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    space = None
    if seeds is None or knn is None:
        space = neighbour_space(x, params.n_pcs, params.seed)
    if seeds is None:
        seeds = find_seeds(
            x,
            batch,
            params.k_anchor,
            params.n_cca,
            params.seed,
            params.exact_knn_limit,
            params.k_filter,
            space,
        )
    timings["seeds_seconds"] = time.perf_counter() - start
    if len(seeds) == 0:
        raise ValueError("no mutual nearest neighbours between batches: nothing to align")
    tick = time.perf_counter()
    if knn is None:
        knn = intra_batch_knn(
            None,
            batch,
            params.knn,
            seed=params.seed,
            exact_limit=params.exact_knn_limit,
            space=space,
        )
    elif knn.shape[0] != x.shape[0]:
        raise ValueError(f"knn has {knn.shape[0]} rows, expected {x.shape[0]}")
    timings["knn_seconds"] = time.perf_counter() - tick
    log.info(
        "%d seeds on %d cells (%.1fs), intra-batch KNN k=%d (%.1fs), device %s",
        len(seeds),
        x.shape[0],
        timings["seeds_seconds"],
        knn.shape[1],
        timings["knn_seconds"],
        device,
    )
    with seeded(params.seed, device):
        result = _fit(x, seeds, knn, params, device, labels, progress)
    result.timings.update(timings)
    result.timings["total_seconds"] = time.perf_counter() - start
    return result


def _fit(
    x: object,
    seeds: np.ndarray,
    knn: np.ndarray,
    params: ClaireParams,
    device: torch.device,
    labels: np.ndarray | None,
    progress: bool,
) -> TrainResult:
    model = MoCo(
        x.shape[1],
        params.latent_dim,
        params.queue_size,
        params.momentum,
        params.temperature,
        params.dropout,
        params.relu_before_norm,
        generator=torch.Generator().manual_seed(params.seed),
    ).to(device)
    optimizer = torch.optim.Adam(
        model.encoder_q.parameters(), lr=params.lr, weight_decay=params.weight_decay
    )
    generator = torch.Generator(device=device).manual_seed(params.seed)
    data = DeviceCSR(x, device)
    sampler = PositivePairSampler(seeds, knn, params.alpha, params.construction, device)
    n_seeds = len(seeds)
    initial_seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
    true_frac = true_seed_fraction(seeds, labels)
    refinement = RefinementStats(None, n_seeds, n_seeds, true_frac, true_frac)
    refine_at = params.refinement_epoch
    if refine_at is not None and refine_at >= params.epochs:
        log.warning("refine_epoch=%d >= epochs=%d: no refinement", refine_at, params.epochs)
    snapshots: dict[int, np.ndarray] = {}
    if 0 in params.snapshot_epochs:
        snapshots[0] = embed_all(model, data)
    history: list[dict] = []
    train_seconds, cells_seen = 0.0, 0
    bar = tqdm(range(params.epochs), desc="CLAIRE", unit="epoch", disable=not progress)
    for epoch in bar:
        if epoch == refine_at:
            seeds, refinement = refine_seeds(
                embed_all(model, data), seeds, params.eta, params.seed, labels, epoch
            )
            sampler.set_seeds(seeds)
        lr = params.lr * params.lr_gamma ** sum(epoch >= m for m in params.lr_milestones)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tick = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        n_steps = 0
        for anchors in sampler.epoch(params.batch_size, generator):
            view1, view2 = sampler.views(data, anchors, generator)
            loss = model(view1, view2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
            n_steps += 1
            cells_seen += anchors.shape[0]
        mean_loss = float(loss_sum) / max(n_steps, 1)
        seconds = time.perf_counter() - tick
        train_seconds += seconds
        history.append(
            {"epoch": epoch + 1, "loss": mean_loss, "lr": lr, "steps": n_steps, "seconds": seconds}
        )
        log.info(
            "epoch %d/%d loss %.4f lr %.1e steps %d %.2fs",
            epoch + 1,
            params.epochs,
            mean_loss,
            lr,
            n_steps,
            seconds,
        )
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        if epoch + 1 in params.snapshot_epochs:
            snapshots[epoch + 1] = embed_all(model, data)
    embedding = embed_all(model, data)
    model.eval()
    return TrainResult(
        model=model,
        embedding=embedding,
        snapshots=snapshots,
        history=history,
        refinement=refinement.as_dict(),
        n_seeds=n_seeds,
        device=str(device),
        timings={
            "train_seconds": train_seconds,
            "cells_per_second": cells_seen / train_seconds if train_seconds > 0 else float("nan"),
        },
        initial_seeds=initial_seeds,
        final_seeds=np.asarray(seeds, dtype=np.int64).reshape(-1, 2),
    )
