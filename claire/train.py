"""CLAIRE's two-stage training loop (paper 2.1-2.5).

Stage 1 trains on all seeds; at the refinement epoch the seeds are filtered on the
stage-1 embedding (claire.refine) and stage 2 continues on the retained ones. How many
epochs run, and when the refinement happens, is planned by claire.schedule (a floor on
optimiser steps for small data, the paper's stopping rule). Training is seeded: on CPU
the same seed gives a bit-identical embedding.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from claire.construct import DeviceCSR, PositivePairSampler
from claire.device import resolve_device, seeded
from claire.model import MoCo
from claire.pairs import build_pairs
from claire.params import ClaireParams
from claire.refine import RefinementStats, refine_seeds, true_seed_fraction
from claire.schedule import PlateauRule, Schedule, plan, replan

log = logging.getLogger(__name__)

EMBED_CHUNK = 4096  # cells embedded per forward pass at inference


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
    schedule: dict = field(default_factory=dict)  # claire.schedule.Schedule.as_dict()
    stopped_epoch: int = 0  # the last epoch trained
    early_stopped: bool = False  # whether the stopping rule ended training

    def embed(self, x: np.ndarray | sp.spmatrix, device: str | None = None) -> np.ndarray:
        """Online-encoder embedding (cells x latent, float32) of log-normalised ``x``.

        Runs on ``device`` (default: the training device); genes must match training.
        """
        return embed_matrix(self.model, x, device or self.device)


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


def embed_matrix(
    model: MoCo, x: np.ndarray | sp.spmatrix, device: str | torch.device = "auto"
) -> np.ndarray:
    """Online-encoder embedding (cells x latent, float32) of log-normalised ``x`` whose
    columns are the model's genes; the model is moved to ``device``."""
    n_genes = model.n_genes
    if x.ndim != 2 or x.shape[1] != n_genes:
        raise ValueError(f"expected a cells x {n_genes} genes matrix, got {x.shape}")
    values = x.data if sp.issparse(x) else np.asarray(x)
    if not np.all(np.isfinite(values)):
        raise ValueError("the expression matrix contains NaN or infinite values")
    target = resolve_device(device)
    return embed_all(model.to(target), DeviceCSR(x, target))


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
    seeds, knn = build_pairs(x, batch, params, seeds=seeds, knn=knn, timings=timings)
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


def new_network(
    n_genes: int, params: ClaireParams, generator: torch.Generator | None = None
) -> MoCo:
    """An untrained network of ``params``' shape (weights from torch's global RNG, the
    queue from ``generator``)."""
    return MoCo(
        n_genes,
        latent_dim=params.latent_dim,
        queue_size=params.queue_size,
        momentum=params.momentum,
        temperature=params.temperature,
        dropout=params.dropout,
        relu_before_norm=params.relu_before_norm,
        queue_init=params.queue_init,
        generator=generator,
    )


def _build(
    n_genes: int, seeds: np.ndarray, knn: np.ndarray, params: ClaireParams, device: torch.device
) -> tuple[MoCo, torch.optim.Optimizer, PositivePairSampler]:
    """The network, its optimiser and the positive-pair sampler of a fresh run."""
    model = new_network(n_genes, params, torch.Generator().manual_seed(params.seed)).to(device)
    optimizer = torch.optim.Adam(
        model.encoder_q.parameters(), lr=params.lr, weight_decay=params.weight_decay
    )
    sampler = PositivePairSampler(seeds, knn, params.alpha, params.construction, device)
    return model, optimizer, sampler


def _train_epoch(
    model: MoCo,
    optimizer: torch.optim.Optimizer,
    sampler: PositivePairSampler,
    data: DeviceCSR,
    batch_size: int,
    generator: torch.Generator,
) -> tuple[float, int, int]:
    """One pass over the anchors: (mean loss, optimiser steps, anchors seen)."""
    model.train()
    loss_sum = torch.zeros((), device=data.device)
    n_steps = cells = 0
    for anchors in sampler.epoch(batch_size, generator):
        view1, view2 = sampler.views(data, anchors, generator)
        loss = model(view1, view2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach()
        n_steps += 1
        cells += anchors.shape[0]
    return float(loss_sum) / max(n_steps, 1), n_steps, cells


def _log_schedule(params: ClaireParams, schedule: Schedule) -> None:
    if schedule.epochs > params.epochs:
        log.info(
            "%d steps per epoch: %d epochs instead of %d to reach min_steps=%d "
            "(schedules stretched x%.2f; refinement after epoch %s)",
            schedule.steps_per_epoch,
            schedule.epochs,
            params.epochs,
            params.min_steps,
            schedule.stretch,
            schedule.refine_epoch,
        )
    if params.refinement_epoch is not None and schedule.refine_epoch is None:
        log.warning(
            "the refinement (refine_epoch=%d, refine_steps=%d) would come after the last "
            "epoch %d: no refinement",
            params.refinement_epoch,
            params.refine_steps,
            schedule.epochs,
        )


def _fit(
    x: object,
    seeds: np.ndarray,
    knn: np.ndarray,
    params: ClaireParams,
    device: torch.device,
    labels: np.ndarray | None,
    progress: bool,
) -> TrainResult:
    model, optimizer, sampler = _build(x.shape[1], seeds, knn, params, device)
    generator = torch.Generator(device=device).manual_seed(params.seed)
    data = DeviceCSR(x, device)
    schedule = plan(params, sampler.n_steps(params.batch_size))
    _log_schedule(params, schedule)
    stopper = PlateauRule(
        window=schedule.window,
        tol=params.early_stop_tol,
        start=schedule.refine_epoch or 0,
        scale=schedule.stretch,
        min_epoch=schedule.min_stop_epoch,
    )
    n_seeds = len(seeds)
    initial_seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
    true_frac = true_seed_fraction(seeds, labels)
    refinement = RefinementStats(None, n_seeds, n_seeds, true_frac, true_frac)
    snapshots: dict[int, np.ndarray] = {}
    if 0 in schedule.snapshot_epochs.values():
        snapshots[0] = embed_all(model, data)
    history: list[dict] = []
    train_seconds, cells_seen, steps_done, stopped_early = 0.0, 0, 0, False
    bar = tqdm(total=schedule.epochs, desc="CLAIRE", unit="epoch", disable=not progress)
    epoch = 0
    while epoch < schedule.epochs:
        if epoch == schedule.refine_epoch:
            seeds, refinement = refine_seeds(
                embed_all(model, data),
                seeds,
                eta=params.eta,
                seed=params.seed,
                labels=labels,
                epoch=epoch,
                component=params.gmm_component,
            )
            sampler.set_seeds(seeds)
            schedule = replan(schedule, params, steps_done, sampler.n_steps(params.batch_size))
            stopper.min_epoch = schedule.min_stop_epoch
            bar.total = schedule.epochs
        lr = params.lr * params.lr_gamma ** sum(epoch >= m for m in schedule.lr_milestones)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tick = time.perf_counter()
        mean_loss, n_steps, cells = _train_epoch(
            model, optimizer, sampler, data, params.batch_size, generator
        )
        seconds = time.perf_counter() - tick
        train_seconds += seconds
        cells_seen += cells
        steps_done += n_steps
        epoch += 1
        history.append(
            {"epoch": epoch, "loss": mean_loss, "lr": lr, "steps": n_steps, "seconds": seconds}
        )
        log.info(
            "epoch %d/%d loss %.4f lr %.1e steps %d %.2fs",
            epoch,
            schedule.epochs,
            mean_loss,
            lr,
            n_steps,
            seconds,
        )
        bar.update(1)
        bar.set_postfix(loss=f"{mean_loss:.4f}")
        if epoch in schedule.snapshot_epochs.values():
            snapshots[epoch] = embed_all(model, data)
        if params.early_stop and stopper.update(mean_loss):
            stopped_early = True
            log.info("loss plateaued: stopping after epoch %d", epoch)
            break
    bar.close()
    embedding = embed_all(model, data)
    for later in set(schedule.snapshot_epochs.values()) - set(snapshots):
        snapshots[later] = embedding  # epochs after an early stop: the final model
    model.eval()
    return TrainResult(
        model=model,
        embedding=embedding,
        snapshots=dict(sorted(snapshots.items())),
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
        schedule=schedule.as_dict(),
        stopped_epoch=len(history),
        early_stopped=stopped_early,
    )
