"""DESC (Li et al., Nat Commun 2020, doi:10.1038/s41467-020-15851-3): a PyTorch
reimplementation of ``desc.train`` (eleozzr/desc e4116d6 = PyPI 2.1.1), which needs
TensorFlow with legacy Keras and is rejected by current pip.

Recipe (spec ``competitors-deep.md`` section 2):

1. Input: the log-normalised HVGs, z-scored **per batch** (``scale_bygroup``: batch mean,
   unbiased batch SD floored at 1e-5, only the upper tail clipped at 6). This is DESC's only
   batch handling; the network never sees the batch. No cell type is read.
2. Layer widths from the size rule (:func:`size_rule`); Dense layers with Glorot-uniform
   weights and zero biases; ReLU inside, tanh at the bottleneck and at the output.
3. Layer-wise denoising pretraining: stack i = Dropout(0.2) -> Dense -> Dropout(0.2) ->
   Dense, MSE on the previous stack's clean output, ``int(pretrain_epochs / 2)`` epochs split
   into 3 stages of ``ceil(./3)`` epochs with SGD(momentum 0.9) at lr 0.1, 0.01, 0.001.
4. End-to-end pretraining of the deep autoencoder (no dropout): ``ceil(pretrain_epochs /
   50)`` stages of 50 epochs, SGD(momentum 0.9) at lr 1, 0.1, 0.01, ... (the code starts at
   1, its docstring says 0.1). Every stage (3. and 4.) has a fresh optimiser and Keras
   early stopping on the epoch's mean training loss (min_delta 1e-4, patience 10);
   batches of 256 from a fresh shuffle each epoch, the last partial batch kept.
5. Louvain on the bottleneck (scanpy, 10 neighbours, resolution 0.8, seeded); centres =
   cluster means; k = the number of Louvain clusters.
6. DEC with the decoder dropped: Student-t q (alpha 1), target p, Keras ``"kld"`` loss
   (p, q clipped to [1e-7, 1]), one SGD(0.01, momentum 0.9) for the whole stage over the
   encoder and the centres. Up to ``max_iter`` rounds: q and p on all cells, stop when a
   round after the first changed fewer than ``tol`` = 0.5 % of the hard labels, else fit
   ``epochs_fit`` = 5 epochs (early stopping patience 5).

The embedding is the bottleneck after step 6 (``X_Embeded_z0.8`` of the package). The
package runs resolutions 0.6 and 0.8 from one pretrained autoencoder; this adapter runs
one resolution (0.8, the tutorials' value).

Snapshots (``snapshot_epochs``) follow ``snapshot_stage``: "clustering" (default) counts
the DEC epochs (epoch 0 = the pretrained encoder at the Louvain initialisation, epoch e =
after e DEC epochs, 5 per round); "pretrain" counts the end-to-end pretraining epochs
across its lr stages (epoch 0 = right after the layer-wise stage). Requested epochs the
stage did not reach (early stop, convergence) get the final embedding.

Randomness: weights, dropout and shuffling from ``seed`` (torch), Louvain and its
neighbour graph seeded with ``seed``; same seed -> identical embedding on CPU.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from claire.bench.competitors._contrastive import batch_column
from claire.bench.competitors._deep_clustering import (
    KerasEarlyStopping,
    SeededTrainer,
    Snapshots,
    encode_all,
    epoch_permutation,
    keras_kld,
    louvain_init,
    minibatches,
    refresh_targets,
    rows,
    soft_assign,
)
from claire.bench.contract import AdapterResult, InputError
from claire.device import resolve_device, seeded

log = logging.getLogger(__name__)

METHOD = "desc"
MOMENTUM = 0.9
STACK_LRS_DECAYING_STEP = 3  # layer-wise lr 0.1, 0.01, 0.001
E2E_EPOCHS_PER_STAGE = 50  # the 50 in ceil(pretrain_epochs / 50) and fit(epochs=50)
LOUVAIN_MAX_CELLS = 200_000


def size_rule(n_cells: int, n_genes: int) -> list[int]:
    """DESC's ``getdims``: layer widths [input, hidden..., bottleneck] from the cell count."""
    if n_cells > 20000:
        return [n_genes, 128, 32]
    if n_cells > 10000:
        return [n_genes, 64, 32]
    if n_cells > 5000:
        return [n_genes, 32, 16]
    if n_cells > 2000:
        return [n_genes, 128]
    if n_cells > 500:
        return [n_genes, 64]
    return [n_genes, 16]


def scale_bygroup(x: np.ndarray, groups: np.ndarray, max_value: float | None = 6.0) -> np.ndarray:
    """DESC's ``scale_bygroup``: per group, subtract the mean and divide by the unbiased SD
    (floored at 1e-5); clip only values above ``max_value``. Returns a new float32 array."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    groups = np.asarray(groups)
    for group in pd.unique(groups):
        rows = groups == group
        block = x[rows]
        n = block.shape[0]
        if n < 2:
            raise InputError(f"{METHOD}: batch {group!r} has {n} cell; per-batch scaling needs 2")
        mean = block.mean(axis=0)
        var = ((block * block).mean(axis=0) - mean**2) * (n / (n - 1))
        sd = np.sqrt(np.maximum(var, 0.0))
        sd[sd <= 1e-5] = 1e-5
        block = (block - mean) / sd
        if max_value is not None:
            block[block > max_value] = max_value
        out[rows] = block
    return out.astype(np.float32)


def stack_schedule(pretrain_epochs: int, decaying_step: int = STACK_LRS_DECAYING_STEP):
    """Layer-wise stage: (lr, epochs) per lr stage of every stack."""
    per_stack = int(pretrain_epochs / 2)
    epochs = math.ceil(per_stack / decaying_step)
    return [(10.0 ** (-1 - j), epochs) for j in range(decaying_step)]


def end_to_end_schedule(pretrain_epochs: int, stage_epochs: int = E2E_EPOCHS_PER_STAGE):
    """End-to-end stage: ``ceil(pretrain_epochs / 50)`` stages at lr 1, 0.1, ... of
    ``stage_epochs`` epochs each (50 in DESC)."""
    n_stages = math.ceil(pretrain_epochs / E2E_EPOCHS_PER_STAGE)
    return [(10.0 ** (-j), stage_epochs) for j in range(n_stages)]


class DescAutoencoder(nn.Module):
    """DESC's symmetric autoencoder; ``encoders[i]``/``decoders[i]`` are also stack i of
    the layer-wise pretraining (the same layers, so the copy into the deep model is
    implicit)."""

    def __init__(self, dims: Sequence[int], drop_rate: float = 0.2) -> None:
        super().__init__()
        self.dims = list(dims)
        n = len(self.dims) - 1
        self.encoders = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(n))
        self.decoders = nn.ModuleList(nn.Linear(dims[i + 1], dims[i]) for i in range(n))
        self.dropout = nn.Dropout(drop_rate)
        for layer in [*self.encoders, *self.decoders]:
            nn.init.xavier_uniform_(layer.weight)  # Keras glorot_uniform
            nn.init.zeros_(layer.bias)

    @property
    def n_stacks(self) -> int:
        return len(self.encoders)

    def _hidden_act(self, i: int, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) if i == self.n_stacks - 1 else torch.relu(h)

    def _output_act(self, i: int, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) if i == 0 else torch.relu(h)

    def encode_stack(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Stack i's clean encoder output (the next stack's input)."""
        return self._hidden_act(i, self.encoders[i](x))

    def stack_forward(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Denoising stack i: dropout on the input and on the hidden layer."""
        h = self._hidden_act(i, self.encoders[i](self.dropout(x)))
        return self._output_act(i, self.decoders[i](self.dropout(h)))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.n_stacks):
            x = self.encode_stack(i, x)
        return x

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        for i in reversed(range(self.n_stacks)):
            z = self._output_act(i, self.decoders[i](z))
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@dataclass
class History:
    """Per-epoch training records of every stage (h5ad-serialisable via :meth:`table`)."""

    rows: list[tuple[str, float, float]] = field(default_factory=list)

    def add(self, phase: str, lr: float, loss: float) -> None:
        self.rows.append((phase, lr, loss))

    def table(self) -> dict[str, np.ndarray]:
        return {
            "phase": np.asarray([r[0] for r in self.rows], dtype=str),
            "lr": np.asarray([r[1] for r in self.rows], dtype=np.float64),
            "loss": np.asarray([r[2] for r in self.rows], dtype=np.float64),
        }


def run_epochs(
    optimizer: torch.optim.Optimizer,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    patience: int | None,
    on_epoch: Callable[[float], None],
) -> int:
    """Keras ``fit``: ``epochs`` epochs of shuffled minibatches, with EarlyStopping on the
    epoch's sample-weighted mean loss when ``patience`` is set. Returns the epochs run."""
    stopper = KerasEarlyStopping(patience) if patience else None
    for epoch in range(epochs):
        total = 0.0
        for idx in minibatches(epoch_permutation(n, generator), batch_size):
            loss = batch_loss(idx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total = total + loss.detach().double() * len(idx)  # stays on the device
        mean = float(total) / n
        on_epoch(mean)
        if stopper is not None and stopper.stop(mean):
            return epoch + 1
    return epochs


@dataclass
class DescTrainer(SeededTrainer):
    """One DESC run on a dense, scaled matrix ``x`` (already on ``device``)."""

    x: torch.Tensor
    model: DescAutoencoder
    patience: int | None = 10
    history: History = field(default_factory=History)

    def _logger(self, phase: str, lr: float, bar: tqdm, after: Callable[[], None] | None = None):
        counter = {"epoch": 0}

        def on_epoch(loss: float) -> None:
            counter["epoch"] += 1
            self.history.add(phase, lr, loss)
            log.info("%s: %s lr %g epoch %d loss %.5f", METHOD, phase, lr, counter["epoch"], loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if after is not None:
                after()

        return on_epoch

    def fit_epochs(
        self,
        opt: torch.optim.Optimizer,
        loss_fn: Callable[[torch.Tensor], torch.Tensor],
        epochs: int,
        on_epoch: Callable[[float], None],
    ) -> int:
        """:func:`run_epochs` over this trainer's cells, minibatches, generator and patience."""
        return run_epochs(
            opt, loss_fn, self.n, epochs, self.batch_size, self.generator, self.patience, on_epoch
        )

    def pretrain_stacks(self, schedule: list[tuple[float, int]]) -> list[list[int]]:
        """Layer-wise denoising pretraining; epochs run per (stack, lr stage)."""
        features = self.x
        run: list[list[int]] = []
        bar = self.progress_bar(
            "DESC layer-wise", self.model.n_stacks * sum(e for _, e in schedule)
        )
        self.model.train()
        for i in range(self.model.n_stacks):
            params = [*self.model.encoders[i].parameters(), *self.model.decoders[i].parameters()]
            inputs = features
            run.append([])
            for lr, epochs in schedule:
                opt = torch.optim.SGD(params, lr=lr, momentum=MOMENTUM)
                loss_fn = self._stack_loss(i, inputs)
                on_epoch = self._logger(f"stack {i + 1}", lr, bar)
                ran = self.fit_epochs(opt, loss_fn, epochs, on_epoch)
                run[-1].append(ran)
            features = encode_all(lambda h, i=i: self.model.encode_stack(i, h), inputs)
        bar.close()
        return run

    def _stack_loss(self, i: int, inputs: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        def loss(idx: torch.Tensor) -> torch.Tensor:
            batch = rows(inputs, idx.to(inputs.device))
            return torch.mean((self.model.stack_forward(i, batch) - batch) ** 2)

        return loss

    def pretrain_end_to_end(self, schedule: list[tuple[float, int]], snaps: Snapshots) -> list[int]:
        """Fine-tune the deep autoencoder end to end (MSE, no dropout); epochs per stage."""
        run = []
        counter = {"epoch": 0}

        def after() -> None:
            counter["epoch"] += 1
            snaps.at(counter["epoch"])

        bar = self.progress_bar("DESC end-to-end", sum(e for _, e in schedule))
        snaps.at(0)
        self.model.train()
        for lr, epochs in schedule:
            opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=MOMENTUM)
            on_epoch = self._logger("end-to-end", lr, bar, after)
            ran = self.fit_epochs(opt, self._ae_loss, epochs, on_epoch)
            run.append(ran)
        bar.close()
        return run

    def _ae_loss(self, idx: torch.Tensor) -> torch.Tensor:
        batch = rows(self.x, idx.to(self.x.device))
        return torch.mean((self.model(batch) - batch) ** 2)

    def embed(self) -> np.ndarray:
        return encode_all(self.model.encode, self.x).cpu().numpy().astype(np.float32)


@dataclass
class ClusteringResult:
    """What the DEC stage leaves: hard labels, label changes per round, epochs run."""

    labels: np.ndarray
    deltas: list[float]
    epochs: int
    rounds: int
    converged: bool


@dataclass
class DecStage:
    """DESC's clustering model (encoder + clustering layer, decoder dropped) and its one
    SGD optimiser, kept for every round as Keras keeps a compiled model's optimiser."""

    trainer: DescTrainer
    mu: nn.Parameter
    alpha: float
    lr: float
    patience: int | None
    snaps: Snapshots
    epochs: int = 0
    optimizer: torch.optim.Optimizer = field(init=False)

    def __post_init__(self) -> None:
        encoder = [p for layer in self.trainer.model.encoders for p in layer.parameters()]
        self.optimizer = torch.optim.SGD([*encoder, self.mu], lr=self.lr, momentum=MOMENTUM)

    @torch.no_grad()
    def assign(self) -> torch.Tensor:
        """q of all cells (Keras ``model.predict``)."""
        return soft_assign(
            encode_all(self.trainer.model.encode, self.trainer.x), self.mu, self.alpha
        )

    def kl(self, p: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        idx = idx.to(self.trainer.x.device)
        z = self.trainer.model.encode(rows(self.trainer.x, idx))
        return keras_kld(rows(p, idx), soft_assign(z, self.mu, self.alpha))

    def fit(self, p: torch.Tensor, epochs_fit: int, bar: tqdm) -> None:
        """``model.fit(x, p, epochs=epochs_fit)`` with shuffling and early stopping."""

        def after(loss: float) -> None:
            self.epochs += 1
            self.trainer.history.add("clustering", self.lr, loss)
            log.info("%s: clustering epoch %d KL %.6f", METHOD, self.epochs, loss)
            bar.update(1)
            bar.set_postfix(kl=f"{loss:.5f}")
            self.snaps.at(self.epochs)

        t = self.trainer
        loss = partial(self.kl, p)
        run_epochs(
            self.optimizer, loss, t.n, epochs_fit, t.batch_size, t.generator, self.patience, after
        )


def fit_clustering(
    stage: DecStage, init_labels: np.ndarray, tol: float, max_iter: int, epochs_fit: int
) -> ClusteringResult:
    """DESC's ``fit_on_all``: DEC rounds until fewer than ``tol`` of the labels change
    (never in the first round, which compares with the Louvain labels)."""
    last, deltas, converged, rounds = np.asarray(init_labels), [], False, 0
    labels = last
    stage.snaps.at(0)
    bar = stage.trainer.progress_bar("DESC clustering", max_iter * epochs_fit)
    stage.trainer.model.train()
    for ite in range(max_iter):
        rounds = ite + 1
        p, labels, delta = refresh_targets(stage.assign(), last)
        deltas.append(delta)
        last = labels
        log.info("%s: clustering round %d, delta_label %.5f (tol %g)", METHOD, rounds, delta, tol)
        if ite > 0 and delta < tol:
            converged = True
            break
        stage.fit(p, epochs_fit, bar)
    bar.close()
    return ClusteringResult(labels, deltas, stage.epochs, rounds, converged)


def _dense_input(adata: ad.AnnData, batch_key: str) -> tuple[np.ndarray, np.ndarray]:
    batches = batch_column(adata, batch_key, METHOD)
    x = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{METHOD}: X has NaN or infinite values")
    return x, batches.astype(str).to_numpy()


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    dims: Sequence[int] | None = None,
    alpha: float = 1.0,
    tol: float = 0.005,
    louvain_resolution: float = 0.8,
    n_neighbors: int = 10,
    pretrain_epochs: int = 300,
    end_to_end_stage_epochs: int = E2E_EPOCHS_PER_STAGE,
    batch_size: int = 256,
    drop_rate: float = 0.2,
    is_stacked: bool = True,
    use_early_stop: bool = True,
    max_iter: int = 1000,
    epochs_fit: int = 5,
    clustering_lr: float = 0.01,
    scale_max_value: float | None = 6.0,
    scale_by_batch: bool = True,
    device: str = "auto",
    snapshot_epochs: Sequence[int] = (),
    snapshot_stage: str = "clustering",
    progress: bool | None = None,
) -> AdapterResult:
    """Train DESC on ``X`` (log-normalised HVGs); return the bottleneck embedding.

    Defaults are the package's ``train()`` defaults (one resolution, 0.8). Shorter runs:
    lower ``pretrain_epochs`` (layer-wise epochs follow it), ``end_to_end_stage_epochs``
    (50 in DESC) and ``max_iter``. ``is_stacked=False`` skips the layer-wise stage (the
    package's ``fit2``); ``scale_by_batch=False`` z-scores over all cells instead.
    """
    if snapshot_stage not in ("clustering", "pretrain"):
        raise InputError(f"{METHOD}: snapshot_stage must be 'clustering' or 'pretrain'")
    tick = time.perf_counter()
    x, batches = _dense_input(adata, batch_key)
    groups = batches if scale_by_batch else np.zeros(len(batches), dtype=int)
    x = scale_bygroup(x, groups, scale_max_value)
    dims = list(dims) if dims is not None else size_rule(*x.shape)
    if dims[0] != x.shape[1]:
        raise InputError(f"{METHOD}: dims[0]={dims[0]} but X has {x.shape[1]} genes")
    if x.shape[0] <= n_neighbors:
        raise InputError(f"{METHOD}: {x.shape[0]} cells; Louvain needs more than {n_neighbors}")
    dev = resolve_device(device)
    log.info("%s: %d cells, dims %s, device %s", METHOD, x.shape[0], dims, dev)
    patience = 10 if use_early_stop else None
    with seeded(seed, dev):
        model = DescAutoencoder(dims, drop_rate).to(dev)
        trainer = DescTrainer(
            torch.from_numpy(x).to(dev),
            model,
            patience,
            seed=seed,
            batch_size=batch_size,
            progress=progress,
        )
        pre_snaps, dec_snaps = Snapshots.per_stage(
            snapshot_epochs, snapshot_stage, trainer.embed, METHOD
        )
        stack_epochs = (
            trainer.pretrain_stacks(stack_schedule(pretrain_epochs)) if is_stacked else []
        )
        e2e_epochs = trainer.pretrain_end_to_end(
            end_to_end_schedule(pretrain_epochs, end_to_end_stage_epochs), pre_snaps
        )
        pretrained = trainer.embed()
        pre_taken = pre_snaps.finish(pretrained)
        init = louvain_init(
            pretrained, n_neighbors, louvain_resolution, seed, METHOD, LOUVAIN_MAX_CELLS
        )
        mu = nn.Parameter(torch.as_tensor(init.centroids, dtype=torch.float32, device=dev))
        patience_dec = 5 if use_early_stop else None
        stage = DecStage(trainer, mu, alpha, clustering_lr, patience_dec, dec_snaps)
        result = fit_clustering(stage, init.labels, tol, max_iter, epochs_fit)
        embedding = trainer.embed()
    snapshots = pre_taken if snapshot_stage == "pretrain" else dec_snaps.finish(embedding)
    stats = {
        "dims": np.asarray(dims, dtype=np.int64),
        "n_clusters": init.k,
        "louvain_resolution": float(louvain_resolution),
        "n_neighbors": int(n_neighbors),
        "stack_epochs": np.asarray(stack_epochs, dtype=np.int64).reshape(
            len(stack_epochs), STACK_LRS_DECAYING_STEP
        ),
        "end_to_end_epochs": np.asarray(e2e_epochs, dtype=np.int64),
        "clustering_epochs": result.epochs,
        "clustering_rounds": result.rounds,
        "delta_label": np.asarray(result.deltas, dtype=np.float64),
        "final_delta_label": float(result.deltas[-1]) if result.deltas else float("nan"),
        "converged": bool(result.converged),
        "cluster_sizes": np.bincount(result.labels, minlength=init.k).astype(np.int64),
        "history": trainer.history.table(),
        "snapshot_stage": snapshot_stage,
        "scaling": f"scale_bygroup({'batch' if scale_by_batch else 'all cells'}, "
        f"max {scale_max_value})",
        "uses_cell_type_labels": False,
        "device": str(dev),
        "seconds": time.perf_counter() - tick,
    }
    log.info(
        "%s: k=%d, %d DEC epochs in %d rounds, final delta_label %.5f, converged %s",
        METHOD,
        init.k,
        result.epochs,
        result.rounds,
        stats["final_delta_label"],
        result.converged,
    )
    return AdapterResult(embedding, snapshots=snapshots, uns={METHOD: stats})
