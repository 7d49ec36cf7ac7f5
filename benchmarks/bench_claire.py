"""Speed and memory of the CLAIRE trainer on simulated data (not a test).

For each size it simulates ``n`` cells in 5 batches (10 cell types), log-normalises them,
keeps the 2000 most variable genes and trains CLAIRE, in a fresh
process so that the peak RSS belongs to that size alone. It prints seconds for seeds +
KNN, training throughput (anchor cells per second), the wall time of the whole run and
the peak RSS, plus the machine load, so that runs on a shared machine can be judged.

    python benchmarks/bench_claire.py                      # 15k cells x 120 epochs + scaling
    python benchmarks/bench_claire.py --sizes 2000 15000 --scaling-epochs 120

The reference size (``--full-size``, default 15000) trains ``--epochs`` (120) epochs.
The other sizes train ``--scaling-epochs`` epochs (default 3) and their 120-epoch wall
time is extrapolated from the measured per-epoch time (marked "extrapolated").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see README: busy shared machines

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = (2000, 15000, 30000, 60000, 120000)


def simulate_lognormalised(n_cells: int, n_genes: int, n_batches: int, seed: int):
    """Simulated counts -> per-cell 1e4 normalisation + log1p (CSR float32) of the ``n_genes``
    most variable of 1.25 x ``n_genes`` simulated genes (a stand-in for HVG selection)."""
    import numpy as np
    import scipy.sparse as sp

    from claire.bench.simulate import simulate_counts

    raw = simulate_counts(
        n_cells=n_cells,
        n_genes=int(1.25 * n_genes),
        n_batches=n_batches,
        n_cell_types=10,
        seed=seed,
    )
    counts = raw.X.tocsr()
    size = np.asarray(counts.sum(axis=1)).ravel()
    x = sp.csr_matrix(sp.diags((1e4 / np.maximum(size, 1)).astype(np.float32)) @ counts)
    x.data = np.log1p(x.data)
    mean = np.asarray(x.mean(axis=0)).ravel()
    variance = np.asarray(x.multiply(x).mean(axis=0)).ravel() - mean**2
    keep = np.sort(np.argsort(-variance, kind="stable")[:n_genes])
    x = sp.csr_matrix(x[:, keep], dtype=np.float32)
    return x, raw.obs["batch"].to_numpy(), raw.obs["cell_type"].to_numpy()


def worker(n_cells: int, epochs: int, n_genes: int, n_batches: int, device: str) -> dict:
    """One benchmark run in this process; returns the measurements."""
    import torch

    from claire.train import ClaireParams, train_claire

    load_before = os.getloadavg()
    tick = time.perf_counter()
    x, batch, labels = simulate_lognormalised(n_cells, n_genes, n_batches, seed=0)
    simulate_seconds = time.perf_counter() - tick
    params = ClaireParams(epochs=epochs, refine_epoch=min(4, epochs - 1) or None, device=device)
    tick = time.perf_counter()
    result = train_claire(x, batch, params, labels=labels, progress=False)
    wall = time.perf_counter() - tick
    t = result.timings
    epoch_seconds = t["train_seconds"] / epochs
    return {
        "n_cells": n_cells,
        "n_genes": x.shape[1],
        "n_batches": n_batches,
        "epochs": epochs,
        "device": result.device,
        "torch_threads": torch.get_num_threads(),
        "simulate_seconds": round(simulate_seconds, 2),
        "seeds_seconds": round(t["seeds_seconds"], 2),
        "knn_seconds": round(t["knn_seconds"], 2),
        "seeds_knn_seconds": round(t["seeds_seconds"] + t["knn_seconds"], 2),
        "n_seeds": result.n_seeds,
        "true_seed_fraction": result.refinement["true_frac_before"],
        "steps_per_epoch": result.history[0]["steps"],
        "epoch_seconds": round(epoch_seconds, 3),
        "cells_per_second": round(t["cells_per_second"], 1),
        "wall_seconds": round(wall, 1),
        "wall_120_epochs": round(wall - t["train_seconds"] + 120 * epoch_seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
    }


def run_size(n_cells: int, epochs: int, args: argparse.Namespace) -> dict:
    """Run one size in a fresh interpreter (peak RSS per size) and parse its JSON line."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        str(n_cells),
        "--epochs",
        str(epochs),
        "--genes",
        str(args.genes),
        "--batches",
        str(args.batches),
        "--device",
        args.device,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{n_cells} cells failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict], full_size: int) -> None:
    header = (
        "| cells | epochs run | seeds+KNN s | steps/epoch | cells/s | wall 120 epochs s "
        "| peak RSS MiB | load (1 min) |"
    )
    print(header)
    print("|" + "---|" * 8)
    for r in rows:
        wall = f"{r['wall_120_epochs']}" + ("" if r["epochs"] == 120 else " (extrapolated)")
        print(
            f"| {r['n_cells']} | {r['epochs']} | {r['seeds_knn_seconds']} | "
            f"{r['steps_per_epoch']} | {r['cells_per_second']} | {wall} | "
            f"{r['peak_rss_mib']} | {r['load_before'][0]} -> {r['load_after'][0]} |"
        )
    ref = next((r for r in rows if r["n_cells"] == full_size), None)
    if ref is not None:
        print(
            f"\n{full_size} cells: seeds+KNN {ref['seeds_knn_seconds']} s (target <= 30), "
            f"{ref['epochs']} epochs end to end {ref['wall_seconds']} s "
            f"(120 epochs: {ref['wall_120_epochs']} s, target <= 300)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--full-size", type=int, default=15000)
    parser.add_argument("--epochs", type=int, default=120, help="epochs at --full-size")
    parser.add_argument("--scaling-epochs", type=int, default=3, help="epochs at other sizes")
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", type=Path, help="also write all measurements here")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.epochs, args.genes, args.batches, args.device)))
        return
    print(f"CPUs {os.cpu_count()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    rows = []
    for n_cells in args.sizes:
        epochs = args.epochs if n_cells == args.full_size else args.scaling_epochs
        print(f"... {n_cells} cells, {epochs} epochs", file=sys.stderr, flush=True)
        rows.append(run_size(n_cells, epochs, args))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print_table(rows, args.full_size)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
