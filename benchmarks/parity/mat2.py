"""MAT2 parity: Zhang-Jinglong/MAT2 (abb86e2, code of 878c388) against
``claire.bench.competitors.mat2``, manual (anchor) mode as the CLAIRE authors ran it.

Both sides get the same input and the same anchor table, so the comparison isolates the
trainer: the log-normalised HVGs (each side L1 x G normalises them itself), batch codes
from ``obs['batch']``, and the Seurat-scored anchors of
:func:`claire.bench.competitors.mat2.scored_anchors` in both directions (the CLAIRE authors
fed Seurat's own ``seuratAnchors.csv``; ours computes Seurat's score on the project's CCA
seeds). Settings: CLAIRE's (lr 1e-3, weight decay 0.01, latent 20, dropout 0, batch 256).
Both outputs R(E(x)) go through the same scaling + PCA-50 (CLAIRE's ``hvgPipe``).

The authors' package is imported from the scratch copy with two spellings patched for
NumPy 2 / pandas 2 (``np.float``, positional ``any(1)``), ``num_workers=0`` (triplets
drawn from NumPy's global generator in this process; seeded) and ``use_gpu=False``.

Snapshots: a MAT2 model at e epochs is e encoder epochs followed by e decoder epochs. For
the authors' code this module trains stage 1 once up to ``epochs`` through their
``one_epoch_encoder`` (keeping the encoder's state after each evaluated count), then for
every count restores that encoder, the decoders' initial weights and a fresh stage-2 Adam
and runs their ``one_epoch_decoder`` e times -- what a fresh ``BuildMAT2(...).train(e)``
does, except for the random streams. Ours does the same internally (see its module doc).
Losses: stage 1 per epoch (mean over batches; upstream prints the last batch's), then
stage 2 of the longest run in ``extra['stage2']``.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from benchmarks.parity.common import (
    ParityRun,
    Timer,
    copy_and_patch,
    import_fresh,
    seed_everything,
)
from claire.bench.competitors import mat2 as ours

NAME = "mat2"
DEFAULT_EPOCHS = 80  # per stage; the CLAIRE authors' sweep for MCA/PBMC ({0,20,40,80})
DEFAULT_EVAL_EPOCHS = [0, 10, 20, 40, 80]
DESCRIPTION = (
    "Zhang-Jinglong/MAT2 @ abb86e2, BuildMAT2(mode='manual') on the same scored anchors; "
    "CLAIRE's settings (lr 1e-3, wd 0.01, latent 20, dropout 0, batch 256); epochs per stage"
)
SETTINGS = {"lr": 1e-3, "weight_decay": 0.01, "latent_dim": 20, "dropout": 0.0, "batch_size": 256}
PATCHES = {
    "MAT2/dataset.py": [("dtype=np.float)", "dtype=np.float64)")],  # NumPy >= 1.24
    "MAT2/triplet.py": [(".any(1)", ".any(axis=1)")],  # pandas 2 (supervised mode only)
}


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy the ``MAT2`` package into ``scratch`` with the NumPy/pandas spellings fixed."""
    return copy_and_patch(checkout, scratch, ["MAT2"], PATCHES, required="MAT2/train.py")


def _inputs(adata: ad.AnnData, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The authors' inputs: genes x cells data, metadata with 'batch' (RangeIndex, as
    their positional ``Series[i]`` expects), the anchor table (cell1, cell2, score)."""
    x = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    data = pd.DataFrame(np.asarray(x, dtype=np.float64).T)
    meta = pd.DataFrame({"batch": adata.obs["batch"].astype(str).to_numpy()})
    anchors = ours.scored_anchors(adata, "batch", seed)
    table = pd.DataFrame(
        {"cell1": anchors.pairs[:, 0], "cell2": anchors.pairs[:, 1], "score": anchors.score}
    )
    return data, meta, table


def _recorded(fn, sink: list[float]):
    """``fn`` (a loss method) that also appends each batch's loss to ``sink``."""

    def wrapper(*args, **kwargs):
        loss = fn(*args, **kwargs)
        sink.append(float(loss.detach()))
        return loss

    return wrapper


def run_authors(
    patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
) -> ParityRun:
    (mat2_pkg,) = import_fresh(patched, ["MAT2"])  # its import calls set_seed(21)
    counts = sorted({*eval_epochs, epochs})
    with Timer() as timer:  # the anchors included, as in ours
        data, meta, anchors = _inputs(adata, seed)
        run = ParityRun(notes=[f"{len(anchors)} anchor rows (both directions)"])
        seed_everything(seed)
        model = mat2_pkg.BuildMAT2(
            data=data,
            metadata=meta,
            mode="manual",
            anchor=anchors,
            latent_num=SETTINGS["latent_dim"],
            dropout_rate=SETTINGS["dropout"],
            learning_rate=SETTINGS["lr"],
            weight_decay=SETTINGS["weight_decay"],
            batch_size=SETTINGS["batch_size"],
            num_workers=0,
            use_gpu=False,
        )
        enc_batches: list[float] = []
        dec_batches: list[float] = []
        model.encoder_loss = _recorded(model.encoder_loss, enc_batches)
        model.decoder_loss = _recorded(model.decoder_loss, dec_batches)
        decoders = (
            copy.deepcopy(model.decoder_r.state_dict()),
            copy.deepcopy(model.decoder_d.state_dict()),
        )
        encoders = {0: copy.deepcopy(model.encoder.state_dict())}
        for epoch in range(1, epochs + 1):
            enc_batches.clear()
            model.one_epoch_encoder()
            run.losses.append(float(np.mean(enc_batches)))
            if epoch in counts:
                encoders[epoch] = copy.deepcopy(model.encoder.state_dict())
        for e in counts:
            model.encoder.load_state_dict(encoders[e])
            model.decoder_r.load_state_dict(decoders[0])
            model.decoder_d.load_state_dict(decoders[1])
            model._second_stage_optimizer = torch.optim.Adam(
                itertools.chain(model.decoder_d.parameters(), model.decoder_r.parameters()),
                lr=SETTINGS["lr"],
                weight_decay=SETTINGS["weight_decay"],
            )
            stage2 = []
            for _ in range(e):
                dec_batches.clear()
                model.one_epoch_decoder()
                stage2.append(float(np.mean(dec_batches)))
            if e == epochs:
                run.extra["stage2"] = stage2
            rec = model.evaluate(data)
            run.embeddings[e] = ours.embed_reconstruction(rec, 50, seed, "pca")
    run.seconds = timer.seconds
    run.notes.append(f"{timer.cpu_seconds:.1f} CPU s")
    return run


def run_ours(adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]) -> ParityRun:
    with Timer() as timer:
        result = ours.run(
            adata,
            "batch",
            seed,
            epochs=epochs,
            snapshot_epochs=eval_epochs,
            device="cpu",
            progress=False,
            **{k: SETTINGS[k] for k in ("lr", "weight_decay", "latent_dim", "dropout")},
        )
    stats = result.uns["mat2"]
    embeddings = {**result.snapshots, epochs: result.embedding}
    notes = [
        f"{stats['n_anchors']} anchor rows on {stats['cells_with_anchors']} cells",
        f"{stats['skipped_batches']} stage-1 batches without a valid triplet skipped",
        f"{timer.cpu_seconds:.1f} CPU s",
    ]
    return ParityRun(
        losses=[float(v) for v in stats["enc_loss"]],
        embeddings={e: embeddings[e] for e in sorted(embeddings)},
        seconds=timer.seconds,
        notes=notes,
        extra={"stage2": [float(v) for v in stats["dec_loss"]]},
    )
