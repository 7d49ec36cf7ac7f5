"""CLEAR parity: ml4bio/CLEAR @ ceda5fa (``CLEAR.py``: ``train``, ``inference``,
``adjust_learning_rate``; ``pcl.builder.MoCo``/``MLPEncoder``; ``pcl.loader.
scRNAMatrixInstance``) against ``claire.bench.competitors.clear``.

Patched at run time (scratch copy of ``CLEAR.py``, ``pcl/``, ``metrics.py``): every
``.cuda(...)`` call becomes a no-op (CPU); ``torchvision`` (imported, never used: a model
name list and an ``ImageFolder`` base class of an unused dataset) is a stub when it is
not installed. The harness runs ``main_worker``'s loop itself (as ``claire_parity.py``
does for CLAIRE's ``main.py``): the authors' datasets, DataLoaders (shuffle, drop_last,
``--workers`` 1: a worker process per epoch, so the crossover's writes into the shared
pool last one epoch), ``MoCo``, SGD, ``adjust_learning_rate``, ``train`` and ``inference``,
without the log files and k-means. Seeds: as ``CLEAR.py`` (Python ``random`` and torch),
plus NumPy's global generator, which the authors leave unseeded (with a worker, each
epoch's NumPy stream is seeded by torch's DataLoader from the torch seed anyway).

Both sides, ``CLEAR.py``'s defaults: lr 5e-3 without ``--cos`` (x0.1 at epochs 100, 120),
batch 512 (``drop_last``; below 512 cells batch = queue = all cells), queue 1024, m 0.999,
T 0.2, SGD momentum 0.9, weight decay 1e-6, the five augmentations with probability 0.5,
100 epochs; embedding = the key encoder's L2-normalised 128-d output in eval mode. Input
(``SETTINGS['input']``): ``zscore`` (default; CLAIRE's "NormLogScale ... for clear" file:
log-normalised HVGs, StandardScaler, no clip; our adapter's own scaling) or ``scale10``
(the same clipped at 10, as the authors' ``generate_h5ad.py --scale``). ``--set lr=1
cos=true`` gives the README / issue-#1 variant. Losses are the epoch's mean InfoNCE per
step; ``acc`` is the share of queries whose positive logit is the largest.
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch

from benchmarks.parity.common import ParityRun, Timer, copy_and_patch, import_fresh, seed_everything
from claire.bench.competitors import clear as ours
from claire.bench.competitors._contrastive import standardize

NAME = "CLEAR"
DEFAULT_EPOCHS = 100
DEFAULT_EVAL_EPOCHS = [0, 10, 20, 50, 100]
SETTINGS = {"lr": 5e-3, "cos": False, "input": "zscore", "workers": 1, "batch_size": 512}
DESCRIPTION = (
    "ml4bio/CLEAR @ ceda5fa (CLEAR.py train/inference, pcl MoCo + scRNAMatrixInstance) vs "
    "claire.bench.competitors.clear; CLEAR.py defaults (lr 5e-3, no cos, batch 512, queue "
    "1024), key-encoder embedding"
)
PATCHES = {
    "CLEAR.py": [
        (".cuda(args.gpu, non_blocking=True)", ""),
        ("images = images.cuda()", "images = images"),
    ],
    "pcl/builder.py": [(".cuda()", "")],
}
# CLEAR.py main_worker's augmentation settings (sigma 0.2 is ignored by the loader: 0.5)
TRANSFORMATION = {
    "mask_percentage": 0.2,
    "noise_percentage": 0.8,
    "sigma": 0.2,
    "swap_percentage": 0.1,
    "cross_percentage": 0.25,
    "change_percentage": 0.25,
}
PROBABILITIES = (
    "apply_mask_prob",
    "apply_noise_prob",
    "apply_swap_prob",
    "apply_cross_prob",
    "apply_mutation_prob",
)


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy CLEAR.py, pcl/ and metrics.py with the CUDA calls removed."""
    return copy_and_patch(
        checkout,
        scratch,
        files=["CLEAR.py", "pcl", "metrics.py"],
        patches=PATCHES,
        required="pcl/builder.py",
    )


def stub_torchvision() -> None:
    """A stand-in ``torchvision`` (models: empty; datasets: an ``ImageFolder`` class)."""
    try:
        import torchvision  # noqa: F401

        return
    except ImportError:
        pass
    package = types.ModuleType("torchvision")
    package.models = types.ModuleType("torchvision.models")
    package.datasets = types.ModuleType("torchvision.datasets")
    package.datasets.ImageFolder = type("ImageFolder", (), {})
    sys.modules.update(
        {
            "torchvision": package,
            "torchvision.models": package.models,
            "torchvision.datasets": package.datasets,
        }
    )


def model_input(adata: ad.AnnData) -> np.ndarray:
    """The matrix both sides train on (see ``SETTINGS['input']``)."""
    x = standardize(ours.dense_float32(adata.X))
    if SETTINGS["input"] == "scale10":
        x = np.minimum(x, 10.0)  # scanpy 1.8 (the authors' env) clips from above only
    elif SETTINGS["input"] != "zscore":
        raise ValueError(f"clear: input {SETTINGS['input']!r}: zscore or scale10")
    return np.ascontiguousarray(x, dtype=np.float32)


def run_authors(
    patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
) -> ParityRun:
    """``main_worker``'s loop of the patched ``CLEAR.py`` on the model input."""
    stub_torchvision()
    pcl_loader, pcl_builder, clear = import_fresh(patched, ["pcl.loader", "pcl.builder", "CLEAR"])
    args = clear.parser.parse_args([])  # CLEAR.py's defaults
    args.epochs, args.lr, args.cos = epochs, float(SETTINGS["lr"]), bool(SETTINGS["cos"])
    args.workers, args.batch_size = int(SETTINGS["workers"]), int(SETTINGS["batch_size"])
    args.seed = seed
    seed_everything(seed)  # CLEAR.py seeds random and torch (not NumPy)
    x = model_input(adata)
    data = ad.AnnData(X=x, obs=pd.DataFrame(index=adata.obs_names.astype(str)))
    transformation = {**TRANSFORMATION, **{p: args.aug_prob for p in PROBABILITIES}}
    with contextlib.redirect_stdout(io.StringIO()):  # "Can not find corresponding labels"
        train_set = pcl_loader.scRNAMatrixInstance(
            adata=data, transform=True, args_transformation=transformation
        )
        eval_set = pcl_loader.scRNAMatrixInstance(adata=data, transform=False)
    run = ParityRun(extra={"acc": []})
    if train_set.num_cells < 512:
        args.batch_size = args.pcl_r = train_set.num_cells
        run.notes.append(f"batch = queue = {train_set.num_cells} cells (< 512)")
    loader = torch.utils.data.DataLoader
    train_loader = loader(
        train_set,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        drop_last=True,
    )
    eval_loader = loader(
        eval_set, batch_size=args.batch_size * 5, shuffle=False, num_workers=args.workers
    )
    model = pcl_builder.MoCo(
        pcl_builder.MLPEncoder,
        int(train_set.num_genes),
        args.low_dim,
        args.pcl_r,
        args.moco_m,
        args.temperature,
    )
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), args.lr, momentum=args.momentum, weight_decay=args.weight_decay
    )

    def embed() -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            features, _ = clear.inference(eval_loader, model)
        return np.asarray(features, dtype=np.float32)

    with Timer() as timer:
        if 0 in eval_epochs:
            run.embeddings[0] = embed()
        for epoch in range(epochs):
            clear.adjust_learning_rate(optimizer, epoch, args)
            with contextlib.redirect_stdout(io.StringIO()):
                stats = clear.train(train_loader, model, criterion, optimizer, epoch, args)
            run.losses.append(float(stats["loss"]))
            run.extra["acc"].append(float(stats["accuracy"]))
            if epoch + 1 in eval_epochs:
                run.embeddings[epoch + 1] = embed()
    run.seconds = timer.seconds
    run.embeddings.setdefault(epochs, embed())
    return run


def run_ours(adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]) -> ParityRun:
    """``claire.bench.competitors.clear.run`` on the same model input (scale=False)."""
    x = model_input(adata)
    data = ad.AnnData(X=x, obs=adata.obs[["batch"]].copy())
    with Timer() as timer:
        result = ours.run(
            data,
            "batch",
            seed,
            epochs=epochs,
            lr=float(SETTINGS["lr"]),
            cos=bool(SETTINGS["cos"]),
            batch_size=int(SETTINGS["batch_size"]),
            scale=False,
            snapshot_epochs=eval_epochs,
            device="cpu",
            progress=False,
        )
    stats = result.uns["clear"]
    run = ParityRun(
        losses=[float(v) for v in stats["loss"]],
        embeddings={**result.snapshots, epochs: np.asarray(result.embedding)},
        seconds=timer.seconds,
        extra={"acc": [float(v) for v in stats["accuracy"]]},
    )
    if x.shape[0] < 512:
        run.notes.append(f"batch = queue = {x.shape[0]} cells (< 512)")
    return run
