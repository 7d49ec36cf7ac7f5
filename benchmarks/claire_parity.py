"""CLAIRE parity: the authors' code against ours, same data, seeds, KNN and settings (not CI).

Takes a checkout of the authors' code (CSUBioGroup/CLAIRE-release). Its ``moco`` package
is copied into a scratch folder and patched only to run here: every ``.cuda()`` call of
``moco/builder.py`` and ``moco/trainval.py`` removed (CPU), and ``.A`` of sparse rows in
``moco/dataset.py`` written ``.toarray()`` (scipy 1.14 removed the ``.A`` alias; same
values). faiss, imported by moco/NNs.py for a GPU k-means that this loop never calls, is
replaced by a stub when it is not installed. PATCHES.txt in the scratch folder lists it.
For each dataset the script preprocesses once (claire.bench.preprocess), computes our
seeds (MNN pairs) and intra-batch KNN once, and trains

- ``ref``: the authors' ClaireNet / train() / evaluate() / filter_anchors() (main.py's
  loop with the README's settings: ``--augment_set int --anchor_schedule 4 --fltr gmm
  --yita 0.5 --moco_t 0.07 --block_level 1``), on our seeds and KNN (their dataset
  object is filled with them instead of reading seuratAnchors.csv);
- ``ours`` (preset ``reference`` by default, optionally others): claire.train.train_claire
  with the same seeds, KNN, epochs, dropout, learning rate, batch size, queue, momentum.

It prints per-epoch loss and seconds side by side, then bASW / kBET / NMI / ARI at the
evaluation epochs (and of the unintegrated PCA). Expected, explained differences: random
streams (the authors draw anchors, partners, neighbours and mixup weights from numpy's
global generator and shuffle with torch's, we draw all from one torch generator), and
their DataLoader drops the last partial batch (no step at all with fewer than
``batch_size`` anchors; we take one smaller batch).

    python benchmarks/claire_parity.py /path/to/CLAIRE-release --epochs 30
    python benchmarks/claire_parity.py REF --datasets kang small2 --presets reference paper
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import random
import shutil
import sys
import time
import types
import warnings
from argparse import Namespace
from functools import partial
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from claire.bench.contract import to_standard_raw  # noqa: E402
from claire.bench.methods import pca  # noqa: E402
from claire.bench.metrics import batch_asw, kbet, nmi_ari  # noqa: E402
from claire.bench.preprocess import preprocess  # noqa: E402
from claire.bench.simulate import simulate_counts  # noqa: E402
from claire.bench.subsample import stratified_subsample  # noqa: E402
from claire.pairs import build_pairs  # noqa: E402
from claire.params import ClaireParams  # noqa: E402
from claire.refine import true_seed_fraction  # noqa: E402
from claire.train import train_claire  # noqa: E402

log = logging.getLogger("claire_parity")
SHARED = ROOT.parent / "shared" / "data"
CUDA_PATCHED = ("builder.py", "trainval.py")  # ".cuda()" removed: run on the CPU
DENSE_PATCHED = ("dataset.py",)  # sparse ".A" -> ".toarray()": scipy >= 1.14 dropped ".A"
DATASETS = ("kang", "cellbench", "sim_trajectory", "sim_partial5", "small2")


# ---- the authors' code, patched in a scratch folder ----------------------------------------


def prepare_reference(checkout: Path, scratch: Path) -> Path:
    """Copy ``checkout/moco`` to ``scratch/moco`` with the CUDA calls removed; return scratch."""
    source = checkout / "moco"
    if not (source / "builder.py").exists():
        raise SystemExit(f"{checkout} is not a CLAIRE-release checkout (no moco/builder.py)")
    target = scratch / "moco"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb*"))
    notes = []
    for names, old, new in ((CUDA_PATCHED, ".cuda()", ""), (DENSE_PATCHED, ".A.", ".toarray().")):
        for name in names:
            path = target / name
            text = path.read_text()
            notes.append(f"{name}: {text.count(old)} x {old!r} -> {new!r}")
            path.write_text(text.replace(old, new))
    (scratch / "PATCHES.txt").write_text("\n".join(notes) + "\n")
    log.info("authors' code in %s (%s)", scratch, "; ".join(notes))
    return scratch


class _Missing(types.ModuleType):
    """Stands in for a module the authors import but this run never uses."""

    def __getattr__(self, name: str):
        raise AttributeError(f"{self.__name__} is not installed (stub; {name} unavailable)")


def stub_unused_imports() -> list[str]:
    """moco/NNs.py imports faiss at module level for a GPU k-means that main.py never
    calls; without faiss the import is satisfied by a stub that fails if used."""
    stubbed = []
    for name in ("faiss",):
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = _Missing(name)
            stubbed.append(name)
    return stubbed


def reference_args(settings: dict) -> Namespace:
    """main.py's arguments as the README runs it, with this run's settings."""
    return Namespace(
        moco_k=settings["queue_size"],
        moco_m=settings["momentum"],
        moco_t=0.07,
        symmetric=True,
        batch_size=settings["batch_size"],
        lat_dim=settings["latent_dim"],
        block_level=1,
        lr=settings["lr"],
        weight_decay=settings["weight_decay"],
        anchor_schedule=[settings["refine_epoch"]],
        fltr="gmm",
        yita=settings["eta"],
        alpha=settings["alpha"],
        print_freq=10**9,
    )


def _reference_datasets(moco, x: sp.csr_matrix, seeds: np.ndarray, knn: np.ndarray, alpha: float):
    """The authors' ClaireDataset objects filled with our data, seeds and KNN."""
    dataset_cls = moco.dataset.ClaireDataset
    train = dataset_cls.__new__(dataset_cls)
    train.mode, train.verbose, train.X, train.n_sample = "train", 0, x, x.shape[0]
    train.type_label = None
    train.augment_set = [partial(moco.dataset.interpolation, alpha=alpha)]  # --augment_set int
    train.pairs = np.asarray(seeds, dtype=np.int64).copy()
    train.nns = np.asarray(knn, dtype=np.int64)
    train.getMnnDict()
    train.exclude_sampleWithoutMNN(True)
    val = dataset_cls.__new__(dataset_cls)
    val.mode, val.verbose, val.X, val.n_sample = "val", 0, x, x.shape[0]
    return train, val


def train_reference(
    scratch: Path, x: sp.csr_matrix, seeds: np.ndarray, knn: np.ndarray, settings: dict
) -> dict:
    """Train the authors' model (main.py's loop) and return losses, seconds, embeddings."""
    if str(scratch) not in sys.path:
        sys.path.insert(0, str(scratch))
    stub_unused_imports()
    import moco.base_encoder
    import moco.builder
    import moco.dataset
    import moco.trainval

    moco.base_encoder.dropout_rate = settings["dropout"]  # read when the blocks are built
    seed = settings["seed"]
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the authors draw from numpy's global generator)
    torch.manual_seed(seed)
    args = reference_args(settings)
    train_set, val_set = _reference_datasets(moco, x, seeds, knn, settings["alpha"])
    loader = partial(torch.utils.data.DataLoader, batch_size=args.batch_size, num_workers=0)
    train_loader = loader(train_set, shuffle=True, drop_last=True)
    val_loader = loader(val_set, shuffle=False, drop_last=False)
    model = moco.builder.ClaireNet(
        base_encoder=moco.base_encoder.EncoderL2,
        in_dim=x.shape[1],
        lat_dim=args.lat_dim,
        block_level=args.block_level,
        args=args,
    )
    optimizer = torch.optim.Adam(model.parameters(), args.lr, weight_decay=args.weight_decay)
    out = {"loss": [], "seconds": [], "steps": [], "snapshots": {}, "refined": None}
    if 0 in settings["eval_epochs"]:
        out["snapshots"][0] = moco.trainval.evaluate(val_loader, model, args)[1]
    for epoch in range(settings["epochs"]):
        if epoch in args.anchor_schedule:
            before = len(train_set.pairs)
            _, embedding = moco.trainval.evaluate(val_loader, model, args)
            train_set.filter_anchors(embedding, fltr=args.fltr, yita=args.yita)
            train_set.exclude_sampleWithoutMNN(True)
            train_set.getMnnDict()
            train_loader = loader(train_set, shuffle=True, drop_last=True)
            out["refined"] = (before, len(train_set.pairs), train_set.pairs.copy())
        tick = time.perf_counter()
        out["loss"].append(moco.trainval.train(train_loader, model, optimizer, epoch, args))
        out["seconds"].append(time.perf_counter() - tick)
        out["steps"].append(len(train_loader))
        if epoch + 1 in settings["eval_epochs"]:
            out["snapshots"][epoch + 1] = moco.trainval.evaluate(val_loader, model, args)[1]
    return out


# ---- ours --------------------------------------------------------------------------------


def train_ours(
    x: sp.csr_matrix,
    batch: np.ndarray,
    seeds: np.ndarray,
    knn: np.ndarray,
    settings: dict,
    preset: str,
    labels: np.ndarray,
) -> dict:
    params = ClaireParams.preset(preset, **_our_overrides(settings))
    result = train_claire(x, batch, params, labels, progress=False, seeds=seeds, knn=knn)
    refined = result.refinement
    return {
        "loss": [h["loss"] for h in result.history],
        "seconds": [h["seconds"] for h in result.history],
        "steps": [h["steps"] for h in result.history],
        "snapshots": result.snapshots,
        "refined": (refined["n_seeds_before"], refined["n_seeds_after"], result.final_seeds),
    }


def _our_overrides(settings: dict) -> dict:
    keys = ("epochs", "dropout", "lr", "weight_decay", "batch_size", "queue_size", "momentum")
    return {
        **{k: settings[k] for k in keys},
        "latent_dim": settings["latent_dim"],
        "alpha": settings["alpha"],
        "eta": settings["eta"],
        "knn": settings["knn"],
        "refine_epoch": settings["refine_epoch"],
        "snapshot_epochs": tuple(settings["eval_epochs"]),
        "seed": settings["seed"],
        "device": "cpu",
    }


# ---- data --------------------------------------------------------------------------------


def load_dataset(name: str, config: dict, seed: int) -> tuple[ad.AnnData, int] | None:
    """Raw AnnData (standard contract) and n_hvg of ``name``; None when its file is absent."""
    real = {
        "kang": ("kang_pbmc_4samples.h5ad", "sample_id", "cluster_id", 1000),
        "cellbench": ("cellbench_5cl_3plates.h5ad", "batch", "celltype", 2000),
    }
    if name in real or name == "small2":
        file, batch_key, label_key, n_hvg = real.get(name, real["kang"])
        path = SHARED / file
        if not path.exists():
            log.warning("%s: %s not found, skipped", name, path)
            return None
        raw = to_standard_raw(ad.read_h5ad(path), batch_key, label_key, name=name)
        if name == "small2":  # a small, strongly batch-affected two-batch case
            raw = raw[raw.obs["batch"].isin(["ctrl101", "stim101"])].copy()
            raw.obs["batch"] = raw.obs["batch"].cat.remove_unused_categories()
            raw = stratified_subsample(raw, 500, seed=seed)
        return raw, n_hvg
    spec = config["datasets"][name]
    source = {k: v for k, v in spec["source"].items() if k != "type"}
    return simulate_counts(**source), spec.get("n_hvg", 2000)


def scores(embedding: np.ndarray, batch: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    clusters = nmi_ari(embedding, labels, seed=0)
    return {
        "bASW": batch_asw(embedding, batch, labels),
        "kBET": kbet(embedding, batch),
        "NMI": clusters.nmi,
        "ARI": clusters.ari,
    }


def run_dataset(name: str, data: ad.AnnData, args: argparse.Namespace, scratch: Path) -> None:
    x = sp.csr_matrix(data.X, dtype=np.float32)
    batch = data.obs["batch"].astype(str).to_numpy()
    labels = data.obs["cell_type"].astype(str).to_numpy()
    settings = {
        "epochs": args.epochs,
        "dropout": args.dropout,
        "lr": 1e-4,
        "weight_decay": 1e-5,
        "batch_size": 256,
        "queue_size": 2048,
        "momentum": 0.999,
        "latent_dim": 128,
        "alpha": 0.5,
        "eta": 0.5,
        "knn": 10,
        "refine_epoch": 4,
        "eval_epochs": sorted(e for e in set(args.eval_epochs) if e <= args.epochs),
        "seed": args.seed,
    }
    params = ClaireParams.preset("reference", **_our_overrides(settings))
    seeds, knn = build_pairs(x, batch, params)
    anchors = np.unique(seeds).size
    print(
        f"\n=== {name}: {x.shape[0]} cells x {x.shape[1]} HVGs, {len(set(batch))} "
        f"batches; {len(seeds)} seeds (true share {true_seed_fraction(seeds, labels):.3f}) on "
        f"{anchors} anchor cells, KNN k={knn.shape[1]}; dropout {args.dropout}, "
        f"{args.epochs} epochs",
        flush=True,
    )
    runs = {"ref": train_reference(scratch, x, seeds, knn, settings)}
    for preset in args.presets:
        runs[f"ours:{preset}"] = train_ours(x, batch, seeds, knn, settings, preset, labels)
    print_losses(runs)
    for run_name, run in runs.items():
        before, after, kept = run["refined"] or (len(seeds), len(seeds), seeds)
        print(
            f"{run_name}: refinement kept {after} of {before} seeds "
            f"(true share {true_seed_fraction(kept, labels):.3f}); "
            f"{sum(run['seconds']):.1f} s training"
        )
    print_scores(runs, data, batch, labels, args.seed)


def print_losses(runs: dict[str, dict]) -> None:
    table = pd.DataFrame(
        {
            (run_name, column): run[key]
            for run_name, run in runs.items()
            for column, key in (("loss", "loss"), ("s", "seconds"), ("steps", "steps"))
        }
    )
    table.index = np.arange(1, len(table) + 1)
    table.index.name = "epoch"
    print(table.round(4).to_string())


def print_scores(
    runs: dict[str, dict], data: ad.AnnData, batch: np.ndarray, labels: np.ndarray, seed: int
) -> None:
    """bASW / kBET / NMI / ARI per evaluation epoch, runs side by side; then the PCA's."""
    columns = {}
    for run_name, run in runs.items():
        for epoch, embedding in sorted(run["snapshots"].items()):
            for metric, value in scores(np.asarray(embedding), batch, labels).items():
                columns.setdefault((run_name, metric), {})[epoch] = value
    table = pd.DataFrame(columns)
    table.index.name = "epoch"
    print(table.round(3).to_string())
    baseline = scores(pca.run(data, "batch", seed), batch, labels)
    print("PCA (unintegrated): " + "  ".join(f"{k} {v:.3f}" for k, v in baseline.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reference", type=Path, help="checkout of CSUBioGroup/CLAIRE-release")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/claire_parity_reference"))
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--eval-epochs", type=int, nargs="*", default=[0, 4, 8, 15, 30])
    parser.add_argument("--dropout", type=float, default=0.3, help="the paper's and authors'")
    parser.add_argument("--presets", nargs="*", default=["reference"], help="our presets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    os.chdir(ROOT)
    scratch = prepare_reference(args.reference.resolve(), args.scratch.resolve())
    config = yaml.safe_load(Path(args.config).read_text())
    for name in args.datasets:
        loaded = load_dataset(name, config, args.seed)
        if loaded is None:
            continue
        raw, n_hvg = loaded
        run_dataset(name, preprocess(raw, n_hvg=n_hvg, name=name), args, scratch)


if __name__ == "__main__":
    main()
