"""scVI (Lopez et al. 2018) through scvi-tools on the raw counts of the HVGs.

Settings of the scIB benchmark (Luecken et al. 2022): 30 latent dimensions, two hidden
layers, negative-binomial likelihood, all cells used for training, and scvi-tools'
default epoch count min(400, 20000 / n_cells * 400) unless ``max_epochs`` is given.
Runs on the GPU when PyTorch sees one (``accelerator="auto"``), on the CPU otherwise.
"""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import scipy.sparse as sp

from claire.bench.contract import InputError

log = logging.getLogger(__name__)


def default_epochs(n_cells: int) -> int:
    """scvi-tools' heuristic: fewer epochs for bigger datasets, at most 400."""
    return int(min(400, round(20000 / max(n_cells, 1) * 400)))


def _epoch_logger(max_epochs: int, every: int):
    """A Lightning callback that logs the training loss every ``every`` epochs."""
    from lightning.pytorch.callbacks import Callback

    class EpochLogger(Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            epoch = trainer.current_epoch + 1
            if epoch % every == 0 or epoch == max_epochs:
                loss = trainer.callback_metrics.get("elbo_train")
                shown = f"{float(loss):.2f}" if loss is not None else "n/a"
                log.info("scvi: epoch %d/%d, train ELBO %s", epoch, max_epochs, shown)

    return EpochLogger()


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    n_latent: int = 30,
    n_layers: int = 2,
    n_hidden: int = 128,
    gene_likelihood: str = "nb",
    max_epochs: int | None = None,
    batch_size: int = 128,
    accelerator: str = "auto",
    log_every: int = 10,
    torch_threads: int | None = None,
) -> np.ndarray:
    """Train scVI on ``layers["counts"]`` with the batch as covariate; return the latent mean.

    ``torch_threads`` caps PyTorch's CPU threads (None: PyTorch's default, every core);
    set it to the job's thread count so parallel jobs do not oversubscribe the CPUs.
    """
    import scvi  # deferred: importing scvi-tools takes seconds
    import torch

    if torch_threads is not None:
        torch.set_num_threads(torch_threads)

    if "counts" not in adata.layers:
        raise InputError("scvi: layers['counts'] with the raw counts of the HVGs is missing")
    if batch_key not in adata.obs.columns:
        raise InputError(f"scvi: obs[{batch_key!r}] is missing")
    scvi.settings.seed = seed
    counts = adata.layers["counts"]
    work = ad.AnnData(X=sp.csr_matrix(counts, dtype=np.float32), obs=adata.obs[[batch_key]].copy())
    scvi.model.SCVI.setup_anndata(work, batch_key=batch_key)
    model = scvi.model.SCVI(
        work,
        n_latent=n_latent,
        n_layers=n_layers,
        n_hidden=n_hidden,
        gene_likelihood=gene_likelihood,
    )
    epochs = max_epochs if max_epochs is not None else default_epochs(work.n_obs)
    log.info(
        "scvi: training %d epochs on %d cells (accelerator=%s)", epochs, work.n_obs, accelerator
    )
    model.train(
        max_epochs=epochs,
        accelerator=accelerator,
        train_size=1.0,
        batch_size=batch_size,
        enable_progress_bar=False,
        callbacks=[_epoch_logger(epochs, max(1, log_every))],
    )
    return np.asarray(model.get_latent_representation(), dtype=np.float32)
