"""CPU seconds per training epoch of DESC and scDCC (issue 24: per-epoch overhead).

    PYTHONPATH=<checkout> nice -n 5 python benchmarks/deep_epoch_cost.py \
        --data results/data/sim_partial5/preprocessed.h5ad

Runs each adapter (one torch thread, the default run's seed 0) twice with a short and a
longer schedule and prints the CPU seconds of the extra epochs divided by their number, per
stage: scDCC pretraining and clustering epochs, DESC's pretraining epochs (layer-wise and
end-to-end, early stopping off) and DEC epochs. Fixed costs (imports, reading, Louvain,
k-means) cancel. The adapter comes from the ``claire`` on ``PYTHONPATH``: run it once with
the code before a change and once after, on the same machine state, to compare. Each
figure is the minimum over ``--repeats`` measurements (CPU time, so other jobs on the
machine inflate it less than wall time).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import anndata as ad
import torch

from claire.bench.competitors import desc, scdcc


def cpu_of(run: Callable[[], object]) -> tuple[float, object]:
    tick = time.process_time()
    result = run()
    return time.process_time() - tick, result


def marginal(
    run: Callable[[dict], object], short: dict, long: dict, epochs: Callable[[object], int], reps
):
    """(CPU s per extra epoch, extra epochs) between the ``short`` and ``long`` params."""
    best = float("inf")
    for _ in range(reps):
        cpu_short, res_short = cpu_of(lambda: run(short))
        cpu_long, res_long = cpu_of(lambda: run(long))
        extra = epochs(res_long) - epochs(res_short)
        best = min(best, (cpu_long - cpu_short) / extra)
    return best, extra


def scdcc_rows(adata: ad.AnnData, reps: int) -> list[tuple[str, float, int]]:
    def run(params: dict):
        return scdcc.run(adata, "batch", seed=0, progress=False, **params)

    def pre(res):
        return res.uns["scdcc"]["pretrain_epochs"]

    def clu(res):
        return res.uns["scdcc"]["clustering_epochs"]

    never = {"tol": -1.0}  # the stopping rule never fires: every epoch runs
    return [
        (
            "scdcc pretraining",
            *marginal(
                run,
                {"pretrain_epochs": 1, "maxiter": 0},
                {"pretrain_epochs": 4, "maxiter": 0},
                pre,
                reps,
            ),
        ),
        (
            "scdcc clustering",
            *marginal(
                run,
                {"pretrain_epochs": 1, "maxiter": 1, **never},
                {"pretrain_epochs": 1, "maxiter": 4, **never},
                clu,
                reps,
            ),
        ),
    ]


def desc_rows(adata: ad.AnnData, reps: int) -> list[tuple[str, float, int]]:
    def run(params: dict):
        return desc.run(adata, "batch", seed=0, progress=False, use_early_stop=False, **params)

    def phase_epochs(kind: str):
        def count(res):
            phases = res.uns["desc"]["history"]["phase"]
            if kind == "clustering":
                return int(sum(p == "clustering" for p in phases))
            return int(sum(p != "clustering" for p in phases))

        return count

    base = {"end_to_end_stage_epochs": 2, "max_iter": 1}
    never = {"tol": -1.0}
    return [
        (
            "desc pretraining",
            *marginal(
                run,
                {**base, "pretrain_epochs": 6},
                {**base, "pretrain_epochs": 30},
                phase_epochs("pretrain"),
                reps,
            ),
        ),
        (
            "desc clustering (DEC)",
            *marginal(
                run,
                {**base, "pretrain_epochs": 6, **never},
                {**base, "pretrain_epochs": 6, "max_iter": 5, **never},
                phase_epochs("clustering"),
                reps,
            ),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="results/data/sim_partial5/preprocessed.h5ad")
    parser.add_argument("--methods", nargs="+", default=["scdcc", "desc"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    adata = ad.read_h5ad(args.data)
    print(
        f"{adata.n_obs} cells x {adata.n_vars} genes, 1 torch thread, claire from {desc.__file__}"
    )
    print("| stage | CPU s per epoch | epochs measured |")
    print("|---|---|---|", flush=True)
    stages = {"scdcc": scdcc_rows, "desc": desc_rows}
    for method in args.methods:
        for name, seconds, extra in stages[method](adata, args.repeats):
            print(f"| {name} | {seconds:.3f} | {extra} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
