"""CPU seconds per training epoch of DESC and scDCC (issue 24: per-epoch overhead).

    PYTHONPATH=<checkout> nice -n 5 python benchmarks/deep_epoch_cost.py \
        --data results/data/sim_partial5/preprocessed.h5ad

Times the training loops themselves (one torch thread, seed 0), without the adapters' fixed
costs (reading, Louvain, k-means): scDCC's pretraining epochs and clustering epochs (KL +
ZINB, centres from the first cells), DESC's end-to-end pretraining epochs and DEC epochs.
The trainers come from the ``claire`` on ``PYTHONPATH``: run the script once with the code
before a change and once after, on the same machine state, to compare. Each figure is the
minimum over ``--repeats`` measurements of CPU time (less inflated than wall time by other
jobs on the machine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import anndata as ad
import numpy as np
import torch
from torch import nn

from claire.bench.competitors import desc, scdcc
from claire.bench.competitors._deep_clustering import Snapshots, target_distribution
from claire.device import seeded

CPU = torch.device("cpu")


def per_epoch(run: Callable[[], None], epochs: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        tick = time.process_time()
        run()
        best = min(best, (time.process_time() - tick) / epochs)
    return best


def no_snapshots(trainer) -> Snapshots:
    return Snapshots.create((), trainer.embed, "bench")


def scdcc_rows(adata: ad.AnnData, epochs: int, repeats: int) -> list[tuple[str, float]]:
    data = scdcc.dca_normalize(adata.layers["counts"])
    with seeded(0, CPU):
        net = scdcc.ScDCCNet(data.x.shape[1])
        trainer = scdcc.ScDCCTrainer(
            net,
            torch.from_numpy(data.x),
            torch.from_numpy(data.counts),
            torch.from_numpy(data.size_factors),
            seed=0,
            progress=False,
        )
        pre = per_epoch(
            lambda: trainer.pretrain(epochs, 1e-3, no_snapshots(trainer)), epochs, repeats
        )
        mu = nn.Parameter(trainer.latent()[:8].clone())
        stage = scdcc.ClusterStage(trainer, mu, scdcc.Constraints())
        p = target_distribution(stage.assign())

        def cluster() -> None:
            for _ in range(epochs):
                stage.train_epoch(p)

        clu = per_epoch(cluster, epochs, repeats)
    return [("scdcc pretraining", pre), ("scdcc clustering", clu)]


def desc_rows(adata: ad.AnnData, epochs: int, repeats: int) -> list[tuple[str, float]]:
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    x = desc.scale_bygroup(x, adata.obs["batch"].astype(str).to_numpy())
    dims = desc.size_rule(*x.shape)
    with seeded(0, CPU):
        model = desc.DescAutoencoder(dims, 0.2)
        trainer = desc.DescTrainer(torch.from_numpy(x), model, None, seed=0, progress=False)
        snaps = no_snapshots(trainer)
        pre = per_epoch(
            lambda: trainer.pretrain_end_to_end([(0.1, epochs)], snaps), epochs, repeats
        )
        mu = nn.Parameter(torch.from_numpy(trainer.embed()[:8].copy()))
        stage = desc.DecStage(trainer, mu, 1.0, 0.01, None, snaps)
        p = target_distribution(stage.assign())
        bar = trainer.progress_bar("bench", epochs)
        clu = per_epoch(lambda: stage.fit(p, epochs, bar), epochs, repeats)
    return [("desc end-to-end pretraining", pre), ("desc clustering (DEC)", clu)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="results/data/sim_partial5/preprocessed.h5ad")
    parser.add_argument("--methods", nargs="+", default=["scdcc", "desc"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    adata = ad.read_h5ad(args.data)
    print(f"{adata.n_obs} cells x {adata.n_vars} genes, 1 torch thread, code: {desc.__file__}")
    print("| stage | CPU s per epoch |")
    print("|---|---|", flush=True)
    stages = {"scdcc": scdcc_rows, "desc": desc_rows}
    for method in args.methods:
        for name, seconds in stages[method](adata, args.epochs, args.repeats):
            print(f"| {name} | {seconds:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
