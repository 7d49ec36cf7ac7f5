"""Helpers shared by the reimplemented contrastive competitors (INSCT, CLEAR).

Input checks, the dense z-scored expression matrix, and the epoch loop every trainer
runs: tqdm progress, one log line per epoch, the loss history and embedding snapshots at
chosen epochs (epoch 0 = before training).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from claire.bench.contract import InputError

log = logging.getLogger(__name__)


def batch_column(adata: ad.AnnData, batch_key: str, method: str) -> pd.Series:
    """``obs[batch_key]``; :class:`InputError` when the column is missing or has missing values."""
    if batch_key not in adata.obs.columns:
        raise InputError(
            f"{method}: batch column obs[{batch_key!r}] is missing; "
            f"obs has {list(adata.obs.columns)}"
        )
    values = adata.obs[batch_key]
    if values.isna().any():
        raise InputError(f"{method}: obs[{batch_key!r}] has missing values")
    return values


def batch_codes(adata: ad.AnnData, batch_key: str, method: str) -> tuple[np.ndarray, list[str]]:
    """Integer batch codes in order of first appearance, and the batch names in that order.

    Raises :class:`InputError` when the column is missing, has missing values or holds
    fewer than two batches.
    """
    values = batch_column(adata, batch_key, method)
    names = [str(v) for v in pd.unique(values.astype(str))]
    if len(names) < 2:
        raise InputError(f"{method}: obs[{batch_key!r}] holds a single batch; it needs >= 2")
    lookup = {name: code for code, name in enumerate(names)}
    codes = np.fromiter((lookup[str(v)] for v in values), dtype=np.int64, count=len(values))
    return codes, names


def dense_float32(x: np.ndarray | sp.spmatrix) -> np.ndarray:
    """The matrix as a C-contiguous float32 array."""
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    return np.ascontiguousarray(x, dtype=np.float32)


def standardize(x: np.ndarray) -> np.ndarray:
    """Per-gene z-score without clipping (sklearn StandardScaler: population std; a
    constant gene becomes 0)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return ((x - mean) / std).astype(np.float32)


def check_snapshot_epochs(snapshot_epochs: Iterable[int], epochs: int, method: str) -> set[int]:
    """The requested snapshot epochs as a set; each must lie in [0, epochs]."""
    wanted = {int(e) for e in snapshot_epochs}
    bad = sorted(e for e in wanted if not 0 <= e <= epochs)
    if bad:
        raise InputError(f"{method}: snapshot_epochs {bad} outside [0, epochs={epochs}]")
    return wanted


@dataclass
class TrainLog:
    """What an epoch loop leaves behind: per-epoch statistics and the snapshots."""

    history: list[dict[str, float]] = field(default_factory=list)
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0

    def losses(self) -> list[float]:
        return [float(row["loss"]) for row in self.history]


def run_epochs(
    method: str,
    epochs: int,
    train_epoch: Callable[[int], Mapping[str, float]],
    embed: Callable[[], np.ndarray],
    snapshot_epochs: Iterable[int] = (),
    progress: bool | None = None,
) -> TrainLog:
    """Call ``train_epoch(epoch)`` for epoch 0..epochs-1 and snapshot ``embed()`` on the way.

    ``train_epoch`` returns the epoch's statistics (at least ``loss``); snapshot ``e`` is
    the embedding after ``e`` epochs (0: before any training). ``embed`` must not draw
    from the training RNGs, so a snapshot never changes the run.
    """
    wanted = check_snapshot_epochs(snapshot_epochs, epochs, method)
    result = TrainLog()
    if 0 in wanted:
        result.snapshots[0] = embed()
    bar = tqdm(
        range(epochs),
        desc=method,
        unit="epoch",
        disable=None if progress is None else not progress,
    )
    for epoch in bar:
        tick = time.perf_counter()
        stats = dict(train_epoch(epoch))
        seconds = time.perf_counter() - tick
        result.seconds += seconds
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in stats.items()}, "seconds": seconds}
        result.history.append(row)
        extra = " ".join(f"{k} {v:.4g}" for k, v in stats.items() if k != "loss")
        log.info(
            "%s: epoch %d/%d loss %.4f %s(%.2f s)",
            method,
            epoch + 1,
            epochs,
            row["loss"],
            f"{extra} " if extra else "",
            seconds,
        )
        bar.set_postfix(loss=f"{row['loss']:.4f}")
        if epoch + 1 in wanted:
            result.snapshots[epoch + 1] = embed()
    return result


def history_table(history: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """The per-epoch statistics as column arrays (h5ad-serialisable)."""
    if not history:
        return {}
    return {key: np.asarray([row[key] for row in history], dtype=np.float64) for key in history[0]}
