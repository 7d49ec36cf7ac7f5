"""INSCT with swapped pieces (``benchmarks/insct_swap.py``): the authors' run recording its
initial weights and triplet batches (``drivers/insct_driver.py`` with ``record``), and our
trainer started from those weights and / or fed those batches in their order.

Everything else of ours stays ours: the network, pn loss, Adam, the dropout masks (torch's
stream) and, where the triplets are not swapped, our own triplet construction and draws.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import torch

from benchmarks.parity import insct as harness
from benchmarks.parity.common import ParityRun, Timer
from claire.bench.competitors import insct as ours
from claire.bench.competitors._contrastive import batch_codes, run_epochs
from claire.device import seeded

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # anchor, positive, negative (rows)


@dataclass
class Record:
    """What the authors' run started from and trained on."""

    weights: list[np.ndarray]  # Keras order: kernel, bias per Dense layer
    epochs: list[list[Batch]]  # per epoch, the triplet batches in training order

    @classmethod
    def from_arrays(cls, answer: Mapping[str, np.ndarray], epochs: int) -> Record:
        """Parse the driver's ``init_w<i>`` and ``rec_*`` arrays.

        The generator's calls before training (Keras's shape peek) are dropped; every
        following block of ``len(generator)`` calls must visit each block index once (one
        epoch, in Keras's shuffled order). Calls beyond ``epochs`` epochs (batches queued
        for an epoch that never ran) are dropped."""
        n_weights = sum(1 for k in answer if k.startswith("init_w"))
        weights = [np.asarray(answer[f"init_w{i}"]) for i in range(n_weights)]
        idx, sizes = np.asarray(answer["rec_idx"]), np.asarray(answer["rec_size"])
        ends = np.cumsum(sizes)
        starts = ends - sizes
        first = int(answer["rec_before_fit"])
        n_blocks = int(idx.max()) + 1
        if len(idx) < first + epochs * n_blocks:
            raise ValueError(
                f"record holds {len(idx) - first} training batches, {epochs} x {n_blocks} needed"
            )
        out: list[list[Batch]] = []
        for epoch in range(epochs):
            calls = range(first + epoch * n_blocks, first + (epoch + 1) * n_blocks)
            if sorted(idx[list(calls)].tolist()) != list(range(n_blocks)):
                raise ValueError(f"epoch {epoch + 1}: the recorded blocks are not one epoch")
            out.append(
                [
                    tuple(
                        np.asarray(answer[f"rec_{k}"][starts[c] : ends[c]], dtype=np.int64)
                        for k in ("anchor", "positive", "negative")
                    )
                    for c in calls
                ]
            )
        return cls(weights=weights, epochs=out)


def load_keras_weights(model: ours.TripletEncoder, weights: Sequence[np.ndarray]) -> None:
    """Copy Keras Dense weights (kernel ``in x out``, bias) into the torch Linear layers in
    order: ``weight = kernel.T``."""
    linears = [m for m in model.layers if isinstance(m, torch.nn.Linear)]
    if len(weights) != 2 * len(linears):
        raise ValueError(f"{len(weights)} Keras arrays for {len(linears)} layers")
    with torch.no_grad():
        for layer, kernel, bias in zip(linears, weights[::2], weights[1::2], strict=True):
            if kernel.shape != (layer.in_features, layer.out_features):
                raise ValueError(f"kernel {kernel.shape} for {layer}")
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
            layer.bias.copy_(torch.from_numpy(bias))


class ReplayTrainer(ours.InsctTrainer):
    """Our trainer stepping through recorded triplet batches instead of drawing its own."""

    def __init__(self, *args: object, batches: list[list[Batch]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.batches = batches

    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        total, n = torch.zeros((), device=self.device), 0
        for anchor, positive, negative in self.batches[epoch]:
            rows = [torch.from_numpy(r).to(self.device) for r in (anchor, positive, negative)]
            total += self.train_step(*rows)
            n += len(anchor)
        return {"loss": float(total) / n}


def authors_run(
    patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
) -> tuple[ParityRun, Record]:
    """The authors' TNN (``benchmarks/parity/insct.py``) with its record."""
    answer: dict[str, np.ndarray] = {}

    def keep(arrays: Mapping[str, np.ndarray]) -> list[str]:
        answer.update(arrays)
        return []

    run = harness.run_authors(patched, adata, seed, epochs, eval_epochs, inspect=keep)
    return run, Record.from_arrays(answer, epochs)


def ours_run(
    adata: ad.AnnData,
    seed: int,
    epochs: int,
    eval_epochs: list[int],
    weights: Sequence[np.ndarray] | None = None,
    batches: list[list[Batch]] | None = None,
) -> ParityRun:
    """Our INSCT as ``claire.bench.competitors.insct.run`` trains it (same seed, same
    streams), optionally from the authors' initial ``weights`` and / or on their
    ``batches``. Swapping the weights leaves torch's stream (dropout) as in the plain run:
    the network is initialised first, then overwritten."""
    settings = harness.SETTINGS
    codes, _ = batch_codes(adata, "batch", "insct")
    device = torch.device("cpu")
    with Timer() as timer:
        rng = np.random.default_rng(seed)
        pcs = ours.pca_input(adata, n_pcs=50, scale=True, seed=seed)
        sets = ours.build_triplet_sets(pcs, codes, 150, 0.75, rng)
        sampler = ours.TripletSampler(sets, codes, str(settings["negatives"]))  # type: ignore[arg-type]
        with seeded(seed, device):
            model = ours.TripletEncoder(pcs.shape[1], 2, float(settings["dropout"]))
            if weights is not None:
                load_keras_weights(model, weights)
            common = (pcs, sampler, model, rng, device, 1e-3, 64, 1.0)
            trainer = (
                ours.InsctTrainer(*common)
                if batches is None
                else ReplayTrainer(*common, batches=batches)
            )
            log = run_epochs(
                "insct", epochs, trainer.train_epoch, trainer.embed, eval_epochs, False
            )
            final = trainer.embed()
    return ParityRun(
        losses=log.losses(),
        embeddings={**log.snapshots, epochs: final},
        seconds=timer.seconds,
        cpu_seconds=timer.cpu_seconds,
    )


@contextmanager
def recording(steps: list[Batch]) -> Iterator[None]:
    """Every batch our trainer steps on (``InsctTrainer.train_step``) appended to ``steps``."""
    step = ours.InsctTrainer.train_step

    def recorded(self, *rows: torch.Tensor) -> torch.Tensor:
        steps.append(tuple(r.cpu().numpy().copy() for r in rows))  # type: ignore[arg-type]
        return step(self, *rows)

    ours.InsctTrainer.train_step = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        ours.InsctTrainer.train_step = step  # type: ignore[method-assign]


def triplet_stats(
    steps: Sequence[Batch], pcs: np.ndarray, batch: np.ndarray, labels: np.ndarray
) -> dict[str, float]:
    """What the triplets a run trained on look like (cell types read for this only)."""
    anchor, positive, negative = (np.concatenate(x) for x in zip(*steps, strict=True))
    pairs = np.unique(anchor * len(pcs) + positive)

    def dist(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.linalg.norm(pcs[u] - pcs[v], axis=1).mean())

    return {
        "triplets": len(anchor),
        "distinct anchors": len(np.unique(anchor)),
        "distinct (anchor, positive) pairs": len(pairs),
        "PC distance a-p": dist(anchor, positive),
        "PC distance a-n": dist(anchor, negative),
        "positive other batch": float(np.mean(batch[positive] != batch[anchor])),
        "positive same type": float(np.mean(labels[positive] == labels[anchor])),
        "negative same batch": float(np.mean(batch[negative] == batch[anchor])),
        "negative same type": float(np.mean(labels[negative] == labels[anchor])),
    }


def initial_weights(seed: int, n_input: int, dropout: float) -> list[np.ndarray]:
    """Our network's initial weights for ``seed`` in Keras order (kernel = weight.T, bias)."""
    with seeded(seed, torch.device("cpu")):
        model = ours.TripletEncoder(n_input, 2, dropout)
    linears = [m for m in model.layers if isinstance(m, torch.nn.Linear)]
    return [w for m in linears for w in (m.weight.detach().numpy().T, m.bias.detach().numpy())]


def weight_stats(weights: Sequence[Sequence[np.ndarray]]) -> dict[str, float]:
    """Per Dense layer, pooled over runs: std, mean and max |w| of the kernels, max |bias|."""
    out: dict[str, float] = {}
    for layer in range(len(weights[0]) // 2):
        kernel = np.concatenate([np.ravel(w[2 * layer]) for w in weights])
        bias = np.concatenate([np.ravel(w[2 * layer + 1]) for w in weights])
        out[f"layer {layer} kernel std"] = float(kernel.std())
        out[f"layer {layer} kernel mean"] = float(kernel.mean())
        out[f"layer {layer} kernel max |w|"] = float(np.abs(kernel).max())
        out[f"layer {layer} max |bias|"] = float(np.abs(bias).max())
    return out
