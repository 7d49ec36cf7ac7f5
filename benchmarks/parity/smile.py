"""SMILE parity: rpmccordlab/SMILE @ a2e2ca6 (``SMILE/SMILE.py``: ``SMILE``,
``SMILE_trainer``) against ``claire.bench.competitors.smile``.

Patched at run time (scratch copy): the two ``.cuda()`` buffers of ``ContrastiveLoss``
(``contrastive_loss_pytorch.py``) stay on the CPU. ``SMILE_trainer`` is called unchanged;
the harness only replaces two names in the imported module: ``gc`` (the trainer calls
``gc.collect()`` once per epoch; here that call also snapshots the embedding at the
evaluation epochs) and ``print`` (its per-epoch "Total loss" line is recorded).

Both sides, the authors' defaults as the CLAIRE authors ran them: input = log-normalised
HVGs z-scored per gene (StandardScaler); ``clf_out`` 25 (all CLAIRE notebooks), batch 512
(the remainder dropped; fewer cells train nothing), f/p temperatures 0.05/0.15, SGD lr 0.01
(hard-coded upstream; CLAIRE used 1e-4 on three datasets, 1e-2 on two), momentum 0.9,
weight decay 5e-4, 80 epochs (CLAIRE's; upstream default 5); Linear layers Xavier-uniform
with zero biases (the notebooks' init). Embedding: the 128-d encoder output with BatchNorm
in training mode over consecutive 512-cell chunks in dataset order (CLAIRE's notebook
inference; ours ``bn_eval=False``). The authors' code is unseeded: the harness seeds
Python, NumPy's global and torch's generators with the seed before building the model.
Losses are per step (the authors' "Total loss" over the epoch's steps / steps).
"""

from __future__ import annotations

import contextlib
import io
import re
import types
from pathlib import Path

import anndata as ad
import numpy as np
import torch
from sklearn.preprocessing import StandardScaler
from torch import nn

from benchmarks.parity.common import ParityRun, Timer, copy_and_patch, import_fresh, seed_everything
from claire.bench.competitors import smile as ours

NAME = "SMILE"
DEFAULT_EPOCHS = 80
DEFAULT_EVAL_EPOCHS = [0, 10, 20, 40, 80]
SETTINGS = {"batch_size": 512, "clf_out": 25, "lr": 0.01, "bn_eval": False}
DESCRIPTION = (
    "rpmccordlab/SMILE @ a2e2ca6 SMILE_trainer vs claire.bench.competitors.smile; z-scored "
    "HVGs, clf_out 25, batch 512, lr 0.01 (upstream, hard-coded), train-mode BN inference"
)
CUDA_BUFFERS = [(".cuda()", "")]


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy ``SMILE/`` with the ContrastiveLoss buffers on the CPU; return its folder."""
    copy_and_patch(
        checkout,
        scratch,
        files=["SMILE"],
        patches={"SMILE/contrastive_loss_pytorch.py": CUDA_BUFFERS},
        required="SMILE/SMILE.py",
    )
    return scratch / "SMILE"


def zscored(adata: ad.AnnData) -> np.ndarray:
    """The authors' input: StandardScaler on the log-normalised HVGs (dense float32)."""
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    return StandardScaler().fit_transform(np.asarray(x, dtype=np.float64)).astype(np.float32)


def _xavier(module: nn.Module) -> None:
    """The CLAIRE notebooks' init of SMILE: Xavier-uniform weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


@torch.no_grad()
def notebook_embedding(model: nn.Module, x: np.ndarray, chunk: int) -> np.ndarray:
    """CLAIRE's SMILE inference: ``model.encoder`` in training mode over consecutive
    ``chunk``-cell slices (a 1-cell remainder joins the slice before; train-mode BatchNorm
    cannot normalise one cell). BatchNorm's running statistics are restored afterwards
    (training never reads them, so this only keeps the model as it was)."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    was_training = model.training
    model.train()
    tensor = torch.from_numpy(x)
    parts = [model.encoder(tensor[s]) for s in ours.inference_chunks(len(x), chunk)]
    model.load_state_dict(state)
    model.train(was_training)
    return torch.cat(parts).numpy().astype(np.float32)


def _torch_with_lr(lr_: float) -> types.ModuleType:
    """``torch`` for the trainer's module, except that ``torch.optim.SGD`` uses ``lr``
    (upstream hard-codes 0.01; CLAIRE's patched trainer took an ``lr``)."""

    class TorchProxy(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            return getattr(torch, name)

    proxy = TorchProxy("torch")
    sgd = torch.optim.SGD
    proxy.optim = types.SimpleNamespace(SGD=lambda params, lr=0.0, **kw: sgd(params, lr=lr_, **kw))
    return proxy


def run_authors(
    patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
) -> ParityRun:
    """``SMILE_trainer`` on the z-scored HVGs, snapshots at ``eval_epochs``."""
    contrastive, smile = import_fresh(patched, ["contrastive_loss_pytorch", "SMILE"])
    del contrastive
    x = zscored(adata)
    batch_size = int(SETTINGS["batch_size"])
    run = ParityRun()
    n_steps = x.shape[0] // batch_size
    if n_steps == 0:
        run.notes.append(
            f"{x.shape[0]} cells < batch {batch_size}: the authors' loop trains nothing"
        )
    seed_everything(seed)
    model = smile.SMILE(input_dim=x.shape[1], clf_out=int(SETTINGS["clf_out"]))
    model.apply(_xavier)
    epoch = 0

    def record(*args: object, **kwargs: object) -> None:
        found = re.match(r"Total loss: (\S+)", " ".join(map(str, args)))
        if found:
            run.losses.append(float(found.group(1)) / max(n_steps, 1))

    def end_of_epoch() -> None:
        nonlocal epoch
        epoch += 1
        if epoch in eval_epochs:
            run.embeddings[epoch] = notebook_embedding(model, x, batch_size)

    smile.gc = types.SimpleNamespace(collect=end_of_epoch)  # called once per epoch
    smile.print = record  # the trainer's "Total loss" line
    if float(SETTINGS["lr"]) != 0.01:  # hard-coded upstream: CLAIRE's patched lr
        run.notes.append(f"lr {SETTINGS['lr']} set on the SGD the trainer builds")
        smile.torch = _torch_with_lr(float(SETTINGS["lr"]))
    with Timer() as timer:
        if 0 in eval_epochs:
            run.embeddings[0] = notebook_embedding(model, x, batch_size)
        with contextlib.redirect_stdout(io.StringIO()):
            smile.SMILE_trainer(x, model, batch_size=batch_size, num_epoch=epochs)
    run.seconds = timer.seconds
    run.embeddings.setdefault(epochs, notebook_embedding(model, x, batch_size))
    return run


def run_ours(adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]) -> ParityRun:
    """``claire.bench.competitors.smile.train_smile`` on the same z-scored matrix."""
    x = zscored(adata)
    run = ParityRun()
    batch_size = int(SETTINGS["batch_size"])
    if x.shape[0] < batch_size:
        run.notes.append(f"{x.shape[0]} cells < batch {batch_size}: ours refuses (InputError)")
        return run
    settings = ours.SmileSettings(
        epochs=epochs,
        lr=float(SETTINGS["lr"]),
        batch_size=batch_size,
        n_clusters=int(SETTINGS["clf_out"]),
        bn_eval=bool(SETTINGS["bn_eval"]),
        snapshot_epochs=eval_epochs,
        device="cpu",
        progress=False,
    )
    with Timer() as timer:
        fit = ours.train_smile(x, settings, seed=seed)
    run.seconds = timer.seconds
    run.losses = list(fit.losses)
    run.embeddings = {**fit.snapshots, epochs: fit.embedding}
    return run
