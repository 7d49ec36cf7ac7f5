"""Automatic refinement of seeds (paper 2.3, eq. 3-5).

The cosine similarity of each seed pair in the stage-1 embedding is modelled by a
one-dimensional two-component Gaussian mixture; seeds whose posterior probability of
the HIGHER-MEAN component is at least ``eta`` are kept. The reference code keeps the
component to which most seeds are assigned instead (``component="majority"``), which
discards the true seeds whenever they are the minority. Labels, when given, are only
used to report the share of true seeds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefinementStats:
    """What a refinement did; the true-seed shares are None without labels."""

    epoch: int | None  # None: no refinement took place
    n_seeds_before: int
    n_seeds_after: int
    true_frac_before: float | None
    true_frac_after: float | None

    def as_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "n_seeds_before": self.n_seeds_before,
            "n_seeds_after": self.n_seeds_after,
            "true_frac_before": self.true_frac_before,
            "true_frac_after": self.true_frac_after,
        }


def seed_similarity(embedding: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Cosine similarity of the two cells of every seed pair (eq. 3)."""
    emb = np.asarray(embedding, dtype=np.float64)
    norms = np.linalg.norm(emb, axis=1)
    norms[norms == 0] = 1.0
    a, b = seeds[:, 0], seeds[:, 1]
    return np.einsum("ij,ij->i", emb[a], emb[b]) / (norms[a] * norms[b])


COMPONENTS = ("higher_mean", "majority")


def true_component_posterior(
    similarity: np.ndarray, seed: int = 0, component: str = "higher_mean"
) -> np.ndarray:
    """Posterior of the "true seed" component of a 2-component 1-D GMM (eq. 4-5).

    ``component`` is ``"higher_mean"`` (the component of higher mean similarity) or
    ``"majority"`` (the one most seeds are assigned to, as the reference code does; a tie
    goes to the first component). Fewer than two seeds, or similarities without spread,
    give posterior 1 everywhere.
    """
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {COMPONENTS}, got {component!r}")
    sim = np.asarray(similarity, dtype=np.float64).reshape(-1, 1)
    if sim.shape[0] < 2 or np.ptp(sim) < 1e-9:
        return np.ones(sim.shape[0])
    gmm = GaussianMixture(n_components=2, random_state=seed).fit(sim)
    posterior = gmm.predict_proba(sim)
    if component == "higher_mean":
        chosen = int(np.argmax(gmm.means_.ravel()))
    else:
        chosen = int(np.argmax(np.bincount(posterior.argmax(axis=1), minlength=2)))
    return posterior[:, chosen]


def true_seed_fraction(seeds: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Share of seeds whose two cells have the same label (None without labels/seeds)."""
    if labels is None or len(seeds) == 0:
        return None
    labels = np.asarray(labels)
    return float(np.mean(labels[seeds[:, 0]] == labels[seeds[:, 1]]))


def seed_accuracy_by_label(seeds: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Per label: seeds touching a cell of it, their true share, and its cells with seeds.

    A seed counts for both labels of its cells (once when they are equal); ``true_share``
    is NaN for a label without seeds. Diagnostic only: labels never enter training.
    """
    labels = np.asarray(labels).astype(str)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
    left, right = labels[seeds[:, 0]], labels[seeds[:, 1]]
    true = left == right
    rows = {}
    for label in np.unique(labels):
        touches = (left == label) | (right == label)
        cells = np.unique(seeds[touches].ravel())
        rows[label] = {
            "cells": int(np.sum(labels == label)),
            "cells_with_seeds": int(np.sum(labels[cells] == label)),
            "seeds": int(touches.sum()),
            "true_share": float(true[touches].mean()) if touches.any() else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("label")


def refine_seeds(
    embedding: np.ndarray,
    seeds: np.ndarray,
    *,
    eta: float = 0.5,
    seed: int = 0,
    labels: np.ndarray | None = None,
    epoch: int = 0,
    component: str = "higher_mean",
) -> tuple[np.ndarray, RefinementStats]:
    """Keep the seeds whose posterior of the GMM's "true" ``component`` is >= ``eta``.

    Returns the retained seeds and the statistics. If no seed reaches ``eta`` all are
    kept (with a warning) so that training can continue.
    """
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must lie in [0, 1], got {eta}")
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 2)
    similarity = seed_similarity(embedding, seeds)
    posterior = true_component_posterior(similarity, seed=seed, component=component)
    keep = posterior >= eta
    if len(seeds) and not keep.any():
        log.warning("refinement: no seed reaches eta=%.2f; keeping all %d", eta, len(seeds))
        keep[:] = True
    kept = seeds[keep]
    stats = RefinementStats(
        epoch=epoch,
        n_seeds_before=len(seeds),
        n_seeds_after=len(kept),
        true_frac_before=true_seed_fraction(seeds, labels),
        true_frac_after=true_seed_fraction(kept, labels),
    )
    log.info(
        "refinement at epoch %d: kept %d of %d seeds (true share %s -> %s)",
        epoch,
        stats.n_seeds_after,
        stats.n_seeds_before,
        _fmt(stats.true_frac_before),
        _fmt(stats.true_frac_after),
    )
    return kept, stats


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
