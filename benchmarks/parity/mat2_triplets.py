"""MAT2 with shared triplets (``benchmarks/mat2_shared_triplets.py``): the authors'
``BuildMAT2`` recording every triplet batch it trains on, our trainer replaying such a record
or recording its own draws, and the distribution of the drawn triplets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.parity import mat2 as harness
from benchmarks.parity.common import import_fresh, obs_arrays, seed_everything
from claire.bench.competitors import mat2 as ours

Record = dict[str, list]  # "enc" / "dec": per epoch, per batch, a Triplets


def authors_run(patched: Path, adata, seed: int, epochs: int) -> tuple[np.ndarray, Record]:
    """The authors' BuildMAT2 for ``epochs`` per stage (what ``train(epochs)`` does), its
    reconstruction R(E(x)) and every triplet batch it trained on."""
    (mat2_pkg,) = import_fresh(patched, ["MAT2"])
    data, meta, anchors = harness._inputs(adata, seed)
    seed_everything(seed)
    model = mat2_pkg.BuildMAT2(
        data=data,
        metadata=meta,
        mode="manual",
        anchor=anchors,
        latent_num=harness.SETTINGS["latent_dim"],
        dropout_rate=harness.SETTINGS["dropout"],
        learning_rate=harness.SETTINGS["lr"],
        weight_decay=harness.SETTINGS["weight_decay"],
        batch_size=harness.SETTINGS["batch_size"],
        num_workers=0,
        use_gpu=False,
    )
    record: Record = {"enc": [], "dec": []}
    loader = model.data.loader

    def recording_loader(stage: str = "encoder", record_flag: bool = False) -> Iterator:
        epoch: list[ours.Triplets] = []
        record["enc" if stage == "encoder" else "dec"].append(epoch)
        for batch in loader(stage=stage, record=True):
            s_pos, s_neg, a, p, n = (t.numpy() for t in batch[3:8])
            epoch.append(
                ours.Triplets(
                    a.astype(np.int64),
                    p.astype(np.int64),
                    n.astype(np.int64),
                    s_pos.astype(np.float64),
                    s_neg.astype(np.float64),
                )
            )
            yield batch if (record_flag or stage == "decoder") else batch[:5]

    model.data.loader = lambda stage="encoder", record=False: recording_loader(stage, record)
    for _ in range(epochs):
        model.one_epoch_encoder()
    for _ in range(epochs):
        model.one_epoch_decoder()
    return model.evaluate(data), record


@contextmanager
def replaying(record: Record) -> Iterator[None]:
    """Our trainer's batch and triplet draws replaced by ``record`` (in order)."""
    epochs = iter([*record["enc"], *record["dec"]])
    pending: list[ours.Triplets] = []
    saved = (ours._batches, ours.encoder_triplets, ours.decoder_triplets)

    def batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
        pending[:] = next(epochs)
        return [t.anchor for t in pending]

    def triplets(cells: np.ndarray, *args: object) -> ours.Triplets:
        t = pending.pop(0)
        assert np.array_equal(t.anchor, cells)
        return t

    ours._batches, ours.encoder_triplets, ours.decoder_triplets = batches, triplets, triplets
    try:
        yield
    finally:
        ours._batches, ours.encoder_triplets, ours.decoder_triplets = saved


@contextmanager
def recording(record: Record) -> Iterator[None]:
    """Our trainer's own triplet draws appended to ``record`` (one list per stage)."""
    saved = (ours.encoder_triplets, ours.decoder_triplets)

    def wrap(fn: Callable, key: str) -> Callable:
        def drawn(*args: object) -> ours.Triplets:
            t = fn(*args)
            record[key].append(t)
            return t

        return drawn

    ours.encoder_triplets = wrap(saved[0], "enc")
    ours.decoder_triplets = wrap(saved[1], "dec")
    try:
        yield
    finally:
        ours.encoder_triplets, ours.decoder_triplets = saved


def ours_run(adata, seed: int, epochs: int) -> np.ndarray:
    """Our trainer (``train_mat2``) on the harness's inputs: R(E(x)) after ``epochs``."""
    anchors = ours.scored_anchors(adata, "batch", seed)
    codes = pd.Categorical(adata.obs["batch"]).codes.astype(np.int64)
    settings = ours.Mat2Settings(
        epochs=epochs,
        device="cpu",
        progress=False,
        **{k: harness.SETTINGS[k] for k in ("lr", "weight_decay", "latent_dim", "dropout")},
    )
    fit = ours.train_mat2(
        ours.l1_normalise(adata.X), codes, anchors.pairs, anchors.score, settings, seed=seed
    )
    return fit.reconstructions[epochs]


def flat(batches: list) -> ours.Triplets:
    """One Triplets of a (possibly nested) list of batches."""
    items: list[ours.Triplets] = []
    for b in batches:
        items.extend(b if isinstance(b, list) else [b])
    return ours.Triplets(
        *(np.concatenate(v) for v in zip(*(vars(t).values() for t in items), strict=True))
    )


def triplet_stats(enc: ours.Triplets, dec: ours.Triplets, adata, partners) -> dict[str, float]:
    """Distribution of the drawn triplets (stage 1 valid ones unless said, stage 2 all)."""
    batch, labels = obs_arrays(adata)
    valid = enc.subset(enc.valid())
    collide = valid.s_neg < 0
    real = valid.subset(~collide)
    n_cells = adata.n_obs
    # positive draws: counts per (anchor, positive slot) against uniform over partners
    key = valid.anchor.astype(np.int64) * n_cells + valid.positive
    _, pair_counts = np.unique(key, return_counts=True)
    per_anchor = np.bincount(valid.anchor, minlength=n_cells)
    n_partners = np.diff(partners.indptr)
    # chi-square of the positives per anchor (anchors with >= 2 distinct partners)
    chi, dof = 0.0, 0
    for cell in np.flatnonzero((n_partners >= 2) & (per_anchor > 0)):
        lo, hi = partners.indptr[cell], partners.indptr[cell + 1]
        slots = partners.partner[lo:hi]
        uniq, mult = np.unique(slots, return_counts=True)
        drawn = valid.positive[valid.anchor == cell]
        obs = np.array([(drawn == u).sum() for u in uniq], dtype=float)
        exp = per_anchor[cell] * mult / mult.sum()
        chi += float(((obs - exp) ** 2 / exp).sum())
        dof += len(uniq) - 1
    neg_hist = np.bincount(real.negative, minlength=n_cells)
    return {
        "stage1 triplets": len(enc.anchor),
        "valid share": float(enc.valid().mean()),
        "collision share (of valid)": float(collide.mean()),
        "mean margin (valid)": float(((valid.s_pos + valid.s_neg) / 2).mean()),
        "mean s_pos (valid)": float(valid.s_pos.mean()),
        "positive other batch": float((batch[valid.positive] != batch[valid.anchor]).mean()),
        "positive same type": float((labels[valid.positive] == labels[valid.anchor]).mean()),
        "negative same batch": float((batch[real.negative] == batch[real.anchor]).mean()),
        "negative same type": float((labels[real.negative] == labels[real.anchor]).mean()),
        "distinct (anchor, positive) pairs": len(pair_counts),
        "positive chi2/dof": chi / max(dof, 1),
        "positive chi2 p": float(stats.chi2.sf(chi, dof)) if dof else float("nan"),
        "negative chi2/dof": float(stats.chisquare(neg_hist).statistic / (n_cells - 1)),
        "stage2 positive same batch": float((batch[dec.positive] == batch[dec.anchor]).mean()),
        "stage2 positive is anchor": float((dec.positive == dec.anchor).mean()),
        "stage2 negative other batch": float((batch[dec.negative] != batch[dec.anchor]).mean()),
        "stage2 negative same type": float((labels[dec.negative] == labels[dec.anchor]).mean()),
    }
