"""DESC parity: eleozzr/desc @ e4116d6 (= PyPI 2.1.1; ``desc.train``, ``DescModel``,
``SAE``, ``desc.scale_bygroup``) against ``claire.bench.competitors.desc``.

The authors' side is TensorFlow / Keras: it runs in another interpreter
(``--authors-python``, e.g. a virtualenv with ``tensorflow-cpu`` 2.15, whose ``tf.keras``
is Keras 2, plus scanpy and louvain) through ``drivers/desc_driver.py``
(``benchmarks/parity/external.py``); ``checkout`` holds the ``desc/`` package.

Patched at run time (scratch copy of ``desc/``): pandas 2 no longer lets a categorical's
``.cat.categories`` be assigned (eleozzr/desc issue #58; raised after training, before the
embedding is returned): the three assignments become ``rename_categories``;
``desc/__init__.py`` and ``desc/tools/__init__.py`` no longer import ``desc.datasets`` and
the demo ``run_desc_test`` that reads it (its data files are absent from the snapshot).
The driver calls ``desc.scale_bygroup(adata, "batch", max_value=6)`` (the authors' batch
handling) and then ``desc.train`` with one resolution; it records the per-epoch losses and
the bottleneck snapshots with one extra Keras callback.

Both sides, ``desc.train``'s defaults as the benchmark's ``desc`` entry runs them: per-batch
scaling clipped at 6, the size rule for ``dims`` (kang_small: [HVGs, 16]; Kang: [HVGs,
64]), ``pretrain_epochs`` 300 (layer-wise: 150 per stack in 3 lr stages 0.1 / 0.01 /
0.001; end to end: 6 stages of 50 epochs at lr 1 ... 1e-5; Keras early stopping, min_delta
1e-4, patience 10), batch 256, Louvain (10 neighbours, resolution 0.8, the tutorials'
value; ``train``'s default runs 0.6 and 0.8), DEC with SGD(0.01, 0.9), 5 epochs per target
update (patience 5), tol 0.005, ``max_iter`` 1000 rounds. ``use_ae_weights=False`` and a
fresh ``save_dir`` per run (``train`` defaults to reusing ``result_tmp/ae_weights.h5``).

``epochs`` counts clustering (DEC) epochs: ``max_iter`` = ``ceil(epochs / 5)`` (default
5000 = 1000 rounds); evaluation epochs are DEC epochs (0 = the pretrained encoder at the
Louvain initialisation); an epoch after convergence gets the final embedding. Losses: the
DEC stage's Keras KLD per epoch; pretraining MSE per epoch in ``extra['stack']`` (both
stacks' lr stages in a row) and ``extra['e2e']``.

Seeds: the authors' ``random_seed`` (Python, NumPy, TensorFlow; their default 201809) is
the run's seed; their Louvain uses scanpy's default ``random_state=0``, ours the seed.
TensorFlow's and torch's initialisers differ, so the same seed does not give the same
weights: the comparison is statistical.
"""

from __future__ import annotations

import math
from pathlib import Path

import anndata as ad
import numpy as np
import scipy.sparse as sp
import torch

from benchmarks.parity.common import ParityRun, Timer, copy_and_patch
from benchmarks.parity.external import run_driver
from claire.bench.competitors import desc as ours

NAME = "DESC"
EPOCHS_FIT = 5  # DEC epochs per target update (desc.train's epochs_fit)
DEFAULT_EPOCHS = 1000 * EPOCHS_FIT  # max_iter 1000 rounds; tol 0.005 stops earlier
DEFAULT_EVAL_EPOCHS = [0, 5, 10, 20, 50]
SETTINGS = {"pretrain_epochs": 300, "resolution": 0.8}
DESCRIPTION = (
    "eleozzr/desc @ e4116d6 desc.train (TensorFlow, --authors-python) vs "
    "claire.bench.competitors.desc; scale_bygroup(batch, 6), size-rule dims, 300 "
    "pretraining epochs, Louvain 0.8, DEC SGD 0.01, tol 0.005"
)
PANDAS2 = {
    "desc/models/network.py": [
        (
            "y0.cat.categories=range(0,len(y0.cat.categories))",
            "y0=y0.cat.rename_categories(range(0,len(y0.cat.categories)))",
        )
    ],
    "desc/models/desc.py": [
        (
            "y_pred.cat.categories=list(range(len(y_pred.unique())))",
            "y_pred=y_pred.cat.rename_categories(list(range(len(y_pred.unique()))))",
        )
    ],
    "desc/__init__.py": [
        ("from . import datasets\n", ""),
        ("from .tools.test import run_desc_test\n", ""),
    ],
    "desc/tools/__init__.py": [("from .test import run_desc_test\n", "")],
}


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy ``desc/`` (models, tools, ``__init__``) with the pandas 2 fixes."""
    return copy_and_patch(
        checkout,
        scratch,
        files=["desc/__init__.py", "desc/models", "desc/tools"],
        patches=PANDAS2,
        required="desc/models/network.py",
    )


def model_input(adata: ad.AnnData) -> np.ndarray:
    """The log-normalised HVGs, dense float32 (each side scales them per batch itself)."""
    x = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    return np.ascontiguousarray(x, dtype=np.float32)


def run_authors(
    patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
) -> ParityRun:
    """``desc.train`` in the authors' interpreter; notes compare its scaled input to ours."""
    batch = adata.obs["batch"].astype(str).to_numpy()
    arrays = {
        "x": model_input(adata),
        "batch": batch,
        "names": adata.obs_names.astype(str).to_numpy(),
    }
    params = {
        "eval_epochs": eval_epochs,
        "pretrain_epochs": int(SETTINGS["pretrain_epochs"]),
        "max_iter": math.ceil(epochs / EPOCHS_FIT),
        "resolution": float(SETTINGS["resolution"]),
        "threads": torch.get_num_threads(),
    }

    def compare(answer) -> list[str]:
        gap = scaled_input_difference(adata, answer["scaled"])
        return [f"scale_bygroup: authors vs ours max |difference| {gap:.2e}"]

    return run_driver("desc_driver", patched, arrays, params, seed, inspect=compare)


def scaled_input_difference(adata: ad.AnnData, scaled: np.ndarray) -> float:
    """Largest absolute difference between the authors' ``scale_bygroup`` output and ours."""
    batch = adata.obs["batch"].astype(str).to_numpy()
    return float(np.abs(ours.scale_bygroup(model_input(adata), batch, 6.0) - scaled).max())


def run_ours(adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]) -> ParityRun:
    """``claire.bench.competitors.desc.run`` with the same settings (resolution 0.8)."""
    with Timer() as timer:
        result = ours.run(
            adata,
            "batch",
            seed,
            pretrain_epochs=int(SETTINGS["pretrain_epochs"]),
            louvain_resolution=float(SETTINGS["resolution"]),
            max_iter=math.ceil(epochs / EPOCHS_FIT),
            epochs_fit=EPOCHS_FIT,
            snapshot_epochs=eval_epochs,
            device="cpu",
            progress=False,
        )
    stats = result.uns["desc"]
    history = stats["history"]
    phases = np.asarray(history["phase"]).astype(str)
    losses = np.asarray(history["loss"], dtype=float)
    extra = {
        name: [float(v) for v in losses[np.char.startswith(phases, prefix)]]
        for name, prefix in (("stack", "stack"), ("e2e", "end"))
    }
    deltas = ", ".join(f"{d:.4f}" for d in np.asarray(stats["delta_label"]))
    return ParityRun(
        losses=[float(v) for v in losses[np.char.startswith(phases, "clust")]],
        embeddings={**result.snapshots, epochs: np.asarray(result.embedding)},
        seconds=timer.seconds,
        cpu_seconds=timer.cpu_seconds,
        notes=[
            f"{stats['n_clusters']} clusters, {stats['clustering_epochs']} clustering epochs, "
            f"delta_label {deltas}",
            f"pretraining epochs: stacks {int(np.sum(stats['stack_epochs']))}, end to end "
            f"{int(np.sum(stats['end_to_end_epochs']))}",
        ],
        extra=extra,
    )
