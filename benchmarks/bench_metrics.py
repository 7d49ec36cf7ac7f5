"""Time every metric on 10k, 30k and 100k-cell embeddings, next to scib on the same input.

Usage: python benchmarks/bench_metrics.py [--sizes 10000 30000 100000] [--threads 2]

Embeddings are synthetic but shaped like an integration output: 15 cell types of
unequal size with sub-populations on a 16-d latent manifold, 4 batches with a residual
shift, mapped to 128 dimensions and L2-normalised (like CLAIRE's output). For each size
the script prints the seconds of each step of ``compute_all`` and of scib's functions
(``silhouette_batch``, ``silhouette``, ``sc.pp.neighbors`` + ``opt_louvain`` + ARI) with
the values they return, then the total wall time and the total CPU time (all threads
and worker processes; on a busy machine it shows the work done, not the waiting).
BLAS and numba threads are capped at ``--threads`` for both.
scib has no kBET of this kind (its kBET is R's, a different statistic), so that row
has no scib timing. scanpy's neighbours are computed exactly (``transformer="sklearn"``)
like ours, so NMI/ARI should agree; its default above 4096 cells (pynndescent) fails
with pynndescent 0.7 in scanpy 1.11 (csr_array has no getnnz).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import time
import warnings

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.metrics import MetricSettings, compute_all
from claire.bench.metrics.compute import limited_threads


def synthetic_embedding(n_cells: int, seed: int = 0, dim: int = 128) -> ad.AnnData:
    """An integration-like embedding with obs batch / cell_type (seeded)."""
    rng = np.random.default_rng(seed)
    n_types, n_batches, latent = 15, 4, 16
    proportions = rng.dirichlet(np.full(n_types, 1.5))
    types = rng.choice(n_types, size=n_cells, p=proportions)
    batches = rng.choice(n_batches, size=n_cells)
    subtypes = rng.integers(0, 3, size=n_cells)
    centres = rng.normal(0, 4.0, (n_types, latent))
    sub_shift = rng.normal(0, 1.0, (n_types, 3, latent))
    batch_shift = rng.normal(0, 0.8, (n_batches, latent))
    z = centres[types] + sub_shift[types, subtypes] + batch_shift[batches]
    z += rng.normal(0, 1.0, z.shape)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, latent)))
    emb = z @ basis.T + rng.normal(0, 0.3, (n_cells, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical([f"b{b}" for b in batches]),
            "cell_type": pd.Categorical([f"t{t}" for t in types]),
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    return ad.AnnData(obs=obs, obsm={"X_emb": emb.astype(np.float32)})


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (Louvain workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_ours(adata: ad.AnnData, threads: int) -> tuple[dict, dict, float, float]:
    timings: dict[str, float] = {}
    start, cpu = time.perf_counter(), cpu_seconds()
    values = compute_all(adata, settings=MetricSettings(n_jobs=threads), timings=timings)
    return values, timings, time.perf_counter() - start, cpu_seconds() - cpu


def time_scib(adata: ad.AnnData, threads: int) -> tuple[dict, dict]:
    import scanpy as sc
    import scib
    from sklearn.metrics import adjusted_rand_score

    adata = adata.copy()
    values, timings = {}, {}
    cpu = cpu_seconds()
    quiet = contextlib.redirect_stdout(io.StringIO())
    with limited_threads(threads), quiet, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        values["basw"] = float(
            scib.metrics.silhouette_batch(adata, "batch", "cell_type", "X_emb", verbose=False)
        )
        timings["basw"] = time.perf_counter() - start
        start = time.perf_counter()
        values["casw"] = float(scib.metrics.silhouette(adata, "cell_type", "X_emb"))
        timings["casw"] = time.perf_counter() - start
        start = time.perf_counter()
        # exact (brute-force) neighbours: scanpy's pynndescent path fails with pynndescent 0.7
        sc.pp.neighbors(adata, n_neighbors=15, use_rep="X_emb", transformer="sklearn")
        timings["knn graph"] = time.perf_counter() - start
        start = time.perf_counter()
        res, nmi, _ = scib.metrics.opt_louvain(adata, "cell_type", "cl", verbose=False)
        values.update(nmi=float(nmi), best_resolution=float(res))
        values["ari"] = float(adjusted_rand_score(adata.obs["cell_type"], adata.obs["cl"]))
        timings["louvain sweep (nmi, ari)"] = time.perf_counter() - start
    return values, timings, cpu_seconds() - cpu


ROWS = [
    ("pairwise pass (k-NN + silhouette sums)", None),
    ("basw", "basw"),
    ("casw", "casw"),
    ("kbet", None),
    ("knn graph (UMAP connectivities)", "knn graph"),
    ("louvain sweep (nmi, ari)", "louvain sweep (nmi, ari)"),
    ("label transfer", None),
    ("bras", None),
]
# The steps the paper's four metrics (bASW, kBET, NMI, ARI) need (issue 24's 60 s target).
PAPER_STEPS = (
    "pairwise pass (k-NN + silhouette sums)",
    "basw",
    "kbet",
    "knn graph (UMAP connectivities)",
    "louvain sweep (nmi, ari)",
)


def report(n_cells: int, ours: tuple, scib: tuple | None) -> None:
    values, timings, total, cpu = ours
    scib_values, scib_timings, scib_cpu = scib if scib else ({}, {}, None)
    print(f"\n== {n_cells} cells ==")
    print(f"{'step':42s} {'ours s':>9s} {'scib s':>9s}")
    for ours_key, scib_key in ROWS:
        theirs = scib_timings.get(scib_key) if scib_key else None
        theirs_txt = f"{theirs:9.2f}" if theirs is not None else f"{'-':>9s}"
        print(f"{ours_key:42s} {timings.get(ours_key, float('nan')):9.2f} {theirs_txt}")
    scib_total = sum(scib_timings.values()) if scib_timings else None
    scib_total_txt = f"{scib_total:9.2f}" if scib_total is not None else f"{'-':>9s}"
    paper = sum(timings.get(step, 0.0) for step in PAPER_STEPS)
    print(f"{'TOTAL, the paper four (bASW kBET NMI ARI)':42s} {paper:9.2f} {'-':>9s}")
    print(f"{'TOTAL (all metrics), wall':42s} {total:9.2f} {scib_total_txt}")
    scib_cpu_txt = f"{scib_cpu:9.2f}" if scib_cpu is not None else f"{'-':>9s}"
    print(f"{'TOTAL, CPU time of all threads/processes':42s} {cpu:9.2f} {scib_cpu_txt}")
    print(f"{'metric':42s} {'ours':>9s} {'scib':>9s}")
    for metric in ("basw", "casw", "kbet", "nmi", "ari", "best_resolution"):
        theirs = scib_values.get(metric)
        theirs_txt = f"{theirs:9.5f}" if theirs is not None else f"{'-':>9s}"
        print(f"{metric:42s} {values[metric]:9.5f} {theirs_txt}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-scib-above", type=int, default=None, help="no scib timing above this many cells"
    )
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"threads: {args.threads}; CPU cores visible: {cores}")
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # compile the numba kernels and warm the imports outside the timings
    compute_all(synthetic_embedding(2000, seed=args.seed), settings=MetricSettings(n_jobs=1))
    for n_cells in args.sizes:
        adata = synthetic_embedding(n_cells, seed=args.seed)
        ours = time_ours(adata, args.threads)
        print(f"\n{n_cells} cells, ours: {ours[2]:.1f} s wall, {ours[3]:.1f} s CPU", flush=True)
        skip = args.skip_scib_above is not None and n_cells > args.skip_scib_above
        report(n_cells, ours, None if skip else time_scib(adata, args.threads))
        print("load average now: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)


if __name__ == "__main__":
    main()
