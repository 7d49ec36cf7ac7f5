"""scDCC parity: ttgump/scDCC (142e4e0; the device-aware copy in
``scDCC_estimating_number_of_clusters/``) against ``claire.bench.competitors.scdcc``,
label-free as the benchmark's default entry: no constraints, k and the centres from
Louvain (20 neighbours, resolution 0.8) on the pretrained latent, as the authors'
estimating-k wrapper ``scDCC_pairwise.py`` does.

Both sides start from the HVGs' raw counts (``layers['counts']``). The authors' side
runs their wrapper's steps in this process: their ``read_dataset`` + ``normalize`` (DCA:
gene/cell filter, size factors, log1p, ``sc.pp.scale``), ``scDCC(input_dim, z_dim=32,
encodeLayer=[256, 64], decodeLayer=[64, 256], sigma=2.5, device='cpu')``,
``pretrain_autoencoder`` (Adam 1e-3 amsgrad, batch 256), scanpy Louvain on
``encodeBatch``, then ``fit`` (Adadelta lr 1, tol 1e-3, ``maxiter`` = ``epochs``). Ours is
``scdcc.run`` with the same numbers. Patched in the scratch copy: sklearn's removed
``linear_assignment_`` -> scipy's ``linear_sum_assignment`` (only reached with true labels,
which are not given). The size factors are passed as an array (the wrapper passes the
pandas column). Checkpoints (``FTcheckpoint_*``) go to the scratch folder.

``epochs`` counts clustering epochs (the authors' ``maxiter``, default 2000; their tol
rule usually stops earlier); evaluation epochs are clustering epochs (0 = the Louvain
initialisation), as the default run's snapshots; an epoch after the stop gets the final
embedding. Pretraining epochs: ``SETTINGS['pretrain_epochs']`` (the wrappers' 300; the
driver's ``--set pretrain_epochs=20`` runs the default run's schedule). Losses: the
clustering stage's total (KL + ZINB) per epoch, as the authors print it; pretraining ZINB
per epoch in ``extra['pretrain']``.

Seeds: torch's and NumPy's global generators are seeded with ``seed`` before the authors'
code (their wrapper seeds torch with 42); their Louvain runs with scanpy's default
``random_state=0``, ours with ``seed``.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import anndata as ad
import numpy as np
import scipy.sparse as sp
import torch

from benchmarks.parity.common import (
    ParityRun,
    Timer,
    copy_and_patch,
    import_fresh,
    seed_everything,
)
from claire.bench.competitors import scdcc as ours

NAME = "scdcc"
DEFAULT_EPOCHS = 2000  # clustering epochs at most (maxiter); tol 1e-3 stops earlier
DEFAULT_EVAL_EPOCHS = [0, 10, 20, 50, 100]
DESCRIPTION = (
    "ttgump/scDCC @ 142e4e0 (scDCC_estimating_number_of_clusters), label-free: Louvain k, "
    "no constraints; pretrain_epochs (300) pretraining epochs, then clustering until "
    "delta_label < 1e-3 or `epochs`; epochs = clustering epochs"
)
SETTINGS = {
    "pretrain_epochs": 300,  # the wrappers' --pretrain_epochs
    "knn": 20,
    "resolution": 0.8,
    "sigma": 2.5,
    "batch_size": 256,
    "tol": 1e-3,
}
FOLDER = "scDCC_estimating_number_of_clusters"
PATCHES = {
    f"{FOLDER}/utils.py": [
        (
            "    from sklearn.utils.linear_assignment_ import linear_assignment\n"
            "    ind = linear_assignment(w.max() - w)",
            "    from scipy.optimize import linear_sum_assignment\n"
            "    ind = np.array(linear_sum_assignment(w.max() - w)).T",
        )
    ],
}
PRETRAIN_LINE = re.compile(r"Pretrain epoch (\d+), ZINB loss:([-\d.eE+naninf]+)")
EPOCH_LINE = re.compile(r"#Epoch\s+(\d+): Total: ([-\d.eE+naninf]+)")


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy the estimating-k folder (device-aware scDCC) into ``scratch``, patched."""
    copy_and_patch(checkout, scratch, [FOLDER], PATCHES, required=f"{FOLDER}/scDCC.py")
    return scratch / FOLDER


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float32)


def _louvain(sc, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The wrapper's k estimate: Louvain labels and the cluster means (scanpy defaults)."""
    work = sc.AnnData(latent)
    sc.pp.neighbors(work, n_neighbors=SETTINGS["knn"], use_rep="X")
    sc.tl.louvain(work, resolution=SETTINGS["resolution"])
    labels = np.asarray(work.obs["louvain"], dtype=int)
    centres = np.stack([latent[labels == k].mean(axis=0) for k in np.unique(labels)])
    return labels, centres


def run_authors(
    patched: Path,
    adata: ad.AnnData,
    seed: int,
    epochs: int,
    eval_epochs: list[int],
) -> ParityRun:
    import scanpy as sc

    _, _, model_mod, pre = import_fresh(patched, ["layers", "utils", "scDCC", "preprocess"])
    run = ParityRun()
    (patched.parent / "checkpoints").mkdir(exist_ok=True)
    _louvain(sc, np.random.default_rng(0).random((60, 4), dtype=np.float32))  # JIT warm-up
    with Timer() as timer, contextlib.redirect_stdout(io.StringIO()) as out:
        data = pre.read_dataset(sc.AnnData(_dense(adata.layers["counts"])), copy=True)
        data = pre.normalize(data, size_factors=True, normalize_input=True, logtrans_input=True)
        if data.n_obs != adata.n_obs:
            raise RuntimeError(f"DCA's filter dropped {adata.n_obs - data.n_obs} cells")
        x, raw = np.asarray(data.X, dtype=np.float32), _dense(data.raw.X)
        sf = data.obs["size_factors"].to_numpy(dtype=np.float32)
        seed_everything(seed)
        model = model_mod.scDCC(
            input_dim=data.n_vars,
            z_dim=32,
            encodeLayer=[256, 64],
            decodeLayer=[64, 256],
            sigma=SETTINGS["sigma"],
            gamma=1.0,
            ml_weight=1.0,
            cl_weight=1.0,
            device="cpu",
        )
        model.pretrain_autoencoder(
            x=x,
            X_raw=raw,
            size_factor=sf,
            batch_size=SETTINGS["batch_size"],
            epochs=SETTINGS["pretrain_epochs"],
            ae_save=False,
        )
        latent = model.encodeBatch(torch.tensor(x)).detach().cpu().numpy()
        labels, centres = _louvain(sc, latent)
        snaps: dict[int, np.ndarray] = {}
        encode = model.encodeBatch

        def recording_encode(*args, **kwargs):  # called once at the start of each epoch
            z = encode(*args, **kwargs)
            if len(snaps) <= epochs:
                snaps[len(snaps)] = z.detach().cpu().numpy().copy()
            return z

        model.encodeBatch = recording_encode
        model.fit(
            X=x,
            X_raw=raw,
            sf=sf,
            n_clusters=centres.shape[0],
            init_centroid=centres,
            y_pred_init=labels,
            y=None,
            batch_size=SETTINGS["batch_size"],
            num_epochs=epochs,
            update_interval=1,
            tol=SETTINGS["tol"],
            save_dir=str(patched.parent / "checkpoints"),
        )
        model.encodeBatch = encode
        with torch.no_grad():
            final = model._enc_mu(model.encoder(torch.tensor(x))).cpu().numpy()
    log = out.getvalue()
    run.extra["pretrain"] = [float(v) for _, v in PRETRAIN_LINE.findall(log)]
    run.losses = [float(v) for _, v in EPOCH_LINE.findall(log)]
    stopped = "delta_label" in log and "Reach tolerance" in log
    run.embeddings = {e: snaps.get(e, final) if e < epochs else final for e in eval_epochs}
    run.embeddings[epochs] = final
    run.seconds = timer.seconds
    run.notes = [
        f"k={centres.shape[0]} (Louvain)",
        f"{len(run.losses)} clustering epochs, {'stopped by tol' if stopped else 'maxiter'}",
        f"{timer.cpu_seconds:.1f} CPU s",
    ]
    return run


def run_ours(
    adata: ad.AnnData,
    seed: int,
    epochs: int,
    eval_epochs: list[int],
) -> ParityRun:
    with Timer() as timer:
        result = ours.run(
            adata,
            "batch",
            seed,
            pretrain_epochs=SETTINGS["pretrain_epochs"],
            maxiter=epochs,
            knn=SETTINGS["knn"],
            resolution=SETTINGS["resolution"],
            sigma=SETTINGS["sigma"],
            tol=SETTINGS["tol"],
            snapshot_epochs=eval_epochs,
            device="cpu",
            progress=False,
        )
    stats = result.uns["scdcc"]
    history = stats["clustering_history"]
    embeddings = {**result.snapshots, epochs: result.embedding}
    return ParityRun(
        losses=[float(v) for v in history.get("loss", [])],
        embeddings={e: embeddings[e] for e in sorted(embeddings)},
        seconds=timer.seconds,
        notes=[
            f"k={stats['n_clusters']} ({stats['k_source']})",
            f"{stats['clustering_epochs']} clustering epochs, "
            f"{'stopped by tol' if stats['converged'] else 'maxiter'}",
            f"{timer.cpu_seconds:.1f} CPU s",
        ],
        extra={"pretrain": [float(v) for v in stats["pretrain_loss"]]},
    )
