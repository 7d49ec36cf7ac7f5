"""INSCT parity: lkmklsmn/insct @ c2eb12d (``tnn/tnn.py``, version 0.0.2: ``TNN``,
``generator_from_index``, ``KnnTripletGenerator``) with beringresearch/ivis @ 1.7.2
(``ivis/nn/losses.py`` ``pn_loss``, ``ivis/nn/network.py`` ``triplet_network``), the
versions the CLAIRE authors ran, against ``claire.bench.competitors.insct``.

The authors' side is TensorFlow / Keras: it runs in another interpreter
(``--authors-python``, e.g. a virtualenv with ``tensorflow-cpu`` 2.15, which still ships
Keras 2 as ``tf.keras``), through ``drivers/insct_driver.py`` (``benchmarks/parity/
external.py``). ``checkout`` is the insct checkout; the ivis 1.7.2 checkout is
``SETTINGS['ivis']`` (``git -C <ivis mirror> archive 1.7.2 ivis | tar -x -C DIR``).

Patched at run time (scratch copy of ``tnn/`` and ``ivis/nn``): ``ivis/__init__.py`` no
longer imports the ``Ivis`` estimator (unused by ``tnn``; it pulls in ivis's own data
module); the two hnswlib queries ask for at most as many neighbours as the index holds
(upstream raises when a batch, or the residual set, has fewer than k = 150 cells, e.g. the
100-cell batches of kang_small; ours caps k the same way), and no residual cell gives
no KNN triplets instead of an hnswlib error on an empty index (ours the same). With
``SETTINGS['negatives'] = 'intended'`` the generator's negative row is read from the
training cells' PCs (``self.X``) instead of the full data's (``self.X1``): the negative
sampling INSCT's paper describes, ours ``negatives='intended'``. ``SETTINGS['dropout']``
other than upstream's 0.25 patches both ``AlphaDropout(0.25)`` of ``base_network`` and sets
ours' ``dropout`` (0 = off on both sides; ``benchmarks/insct_swap.py --dropout``).
``SETTINGS['hnsw_threads']`` passes ``num_threads`` to the two hnswlib index builds
(upstream: all cores, whose insertion order varies from run to run).

Both sides, the CLAIRE authors' scripts (``INSCT_*.py``): input = PCA-50 (ARPACK) of the
HVGs z-scored without clipping, computed once here (ours' ``pca_input``) and given to both;
``TNN(epochs=e, n_epochs_without_progress=e)`` (no early stopping), everything else
``TNN``'s defaults: k 150, ``k_to_m_ratio`` 0.75, embedding 2-d, pn loss with margin 1,
Keras Adam (lr 1e-3, eps 1e-7), 64 anchors per step. One deviation: ``fit(workers=1)``
instead of upstream's 10 generator threads (``SETTINGS['workers']``, patched in): the
threads only decide which thread draws which anchor's positive and negative from NumPy's
shared generator (statistically the same triplets), and Keras 2.15's 10-thread enqueuer
idled about 5 s per epoch here (10 epochs on kang_small: 59 s wall vs 9 s, both 3.6 CPU
s); with one thread the authors' run is reproducible for a seed.
Embeddings: the shared network in inference mode at the evaluation epochs of one run (the
CLAIRE authors trained a fresh model per epoch count; either way a run with the same seed).
Seeds: the driver seeds Python, NumPy's global generator and TensorFlow and fixes
``PYTHONHASHSEED`` (the authors' set orders of cell names); hnswlib's multithreaded index
build may still vary. The two
networks do not start from the same weights (TensorFlow vs torch initialisers): the
comparison is statistical. Losses: the Keras epoch mean per sample (ours the same).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import torch

from benchmarks.parity.common import ParityRun, Timer, copy_and_patch
from benchmarks.parity.external import run_driver
from claire.bench.competitors import insct as ours

NAME = "INSCT"
DEFAULT_EPOCHS = 120
DEFAULT_EVAL_EPOCHS = [0, 10, 20, 40, 80, 120]
SETTINGS = {
    "negatives": "upstream",
    "ivis": "/tmp/authors/ivis-1.7.2",
    "workers": 1,
    "dropout": 0.25,  # AlphaDropout rate of both sides (upstream 0.25; 0 = off)
    "hnsw_threads": None,  # threads of the authors' hnswlib index builds (None: upstream's all)
}
DESCRIPTION = (
    "lkmklsmn/insct @ c2eb12d TNN + ivis 1.7.2 (TensorFlow, --authors-python) vs "
    "claire.bench.competitors.insct; PCA-50 of z-scored HVGs, k 150, d 2, pn margin 1, "
    "Adam 1e-3, batch 64, no early stopping"
)
HNSW_CAPS = [
    ("p.knn_query(ds1, k=knn)", "p.knn_query(ds1, k=min(knn, num_elements))"),
    ("p.knn_query(pcs, k=k)", "p.knn_query(pcs, k=min(k, num_elements))"),
]
KNN_SIGNATURE = (
    "def create_dictionary_knn(adata, cell_subset, k = 50, save_on_disk = True, approx = True):\n"
)
NO_RESIDUAL = [
    (KNN_SIGNATURE, KNN_SIGNATURE + "    if len(cell_subset) == 0:\n        return {}\n")
]
INTENDED_NEGATIVES = [("self.X1[negative]]", "self.X[negative]]")]
WORKERS = ("workers = 10,", "workers = {workers},")
DROPOUT = ("AlphaDropout(0.25)", "AlphaDropout({rate})")
HNSW_ADDS = ["p.add_items(pcs)", "p.add_items(ds2)"]
IVIS_FILES = ["ivis/__init__.py", "ivis/version.py", "ivis/nn"]


def prepare_authors(checkout: Path, scratch: Path) -> Path:
    """Copy ``tnn/`` (patched as the module doc says) and ivis 1.7.2's ``ivis/nn``."""
    negatives = str(SETTINGS["negatives"])
    if negatives not in ("upstream", "intended"):
        raise SystemExit(f"insct: negatives {negatives!r}: upstream or intended")
    tnn_patches = HNSW_CAPS + NO_RESIDUAL
    if negatives == "intended":
        tnn_patches += INTENDED_NEGATIVES
    tnn_patches.append((WORKERS[0], WORKERS[1].format(workers=int(SETTINGS["workers"]))))
    if float(SETTINGS["dropout"]) != 0.25:
        tnn_patches.append((DROPOUT[0], DROPOUT[1].format(rate=float(SETTINGS["dropout"]))))
    if SETTINGS["hnsw_threads"] is not None:
        threads = int(SETTINGS["hnsw_threads"])
        tnn_patches += [(a, a.replace(")", f", num_threads={threads})")) for a in HNSW_ADDS]
    copy_and_patch(
        checkout, scratch, files=["tnn"], patches={"tnn/tnn.py": tnn_patches}, required="tnn/tnn.py"
    )
    ivis = Path(str(SETTINGS["ivis"])).resolve()
    notes = (scratch / "PATCHES.txt").read_text()
    copy_and_patch(
        ivis,
        scratch / "ivis_copy",
        files=IVIS_FILES,
        patches={"ivis/__init__.py": [("from .ivis import Ivis\n", "")]},
        required="ivis/nn/losses.py",
    )
    (scratch / "ivis_copy" / "ivis").rename(scratch / "ivis")
    ivis_notes = (scratch / "ivis_copy" / "PATCHES.txt").read_text()
    (scratch / "PATCHES.txt").write_text(notes + ivis_notes)
    return scratch


def model_input(adata: ad.AnnData, seed: int) -> np.ndarray:
    """PCA-50 of the z-scored HVGs, as ours computes it inside ``run``."""
    return ours.pca_input(adata, n_pcs=50, scale=True, seed=seed)


def run_authors(
    patched: Path,
    adata: ad.AnnData,
    seed: int,
    epochs: int,
    eval_epochs: list[int],
    inspect: Callable[[Mapping[str, np.ndarray]], list[str]] | None = None,
) -> ParityRun:
    """The patched ``tnn.TNN`` in the authors' interpreter on the same PCs. With
    ``inspect`` the driver also records the initial weights and the triplet batches and
    hands every output array to ``inspect`` (``benchmarks/parity/insct_swap.py``)."""
    arrays = {
        "pcs": model_input(adata, seed),
        "batch": adata.obs["batch"].astype(str).to_numpy(),
        "names": adata.obs_names.astype(str).to_numpy(),
    }
    params = {
        "epochs": epochs,
        "eval_epochs": eval_epochs,
        "threads": torch.get_num_threads(),
        "negatives": str(SETTINGS["negatives"]),
        "record": inspect is not None,
    }
    return run_driver("insct_driver", patched, arrays, params, seed, inspect=inspect)


def run_ours(adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]) -> ParityRun:
    """``claire.bench.competitors.insct.run`` with the same negatives setting."""
    with Timer() as timer:
        result = ours.run(
            adata,
            "batch",
            seed,
            epochs=epochs,
            negatives=str(SETTINGS["negatives"]),
            dropout=float(SETTINGS["dropout"]),
            snapshot_epochs=eval_epochs,
            device="cpu",
            progress=False,
        )
    stats = result.uns["insct"]
    return ParityRun(
        losses=[float(v) for v in stats["loss"]],
        embeddings={**result.snapshots, epochs: np.asarray(result.embedding)},
        seconds=timer.seconds,
        cpu_seconds=timer.cpu_seconds,
        notes=[
            f"{stats['n_mnn_cells']} MNN + {stats['n_knn_cells']} KNN anchor cells",
            f"same-batch negatives {stats['same_batch_negative_fraction']:.3f}",
        ],
    )
