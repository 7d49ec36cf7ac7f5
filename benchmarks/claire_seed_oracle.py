"""Why CLAIRE's NMI decays on partial overlap: its seeds against true-only seeds (not a test).

For one dataset of a config (default: sim_partial5 of config/config.yaml, with the
config's CLAIRE parameters) it trains CLAIRE twice and prints bASW / kBET / NMI at the
snapshot epochs next to the unintegrated PCA baseline (bASW's shortfall split into its
``apart`` and ``overlap`` parts, see claire.bench.metrics.batch_asw_split):

- ``claire``: the method as run by the workflow (its MNN seeds, GMM refinement);
- ``true-seed oracle``: the same seeds minus every false one (cell labels used: an
  upper bound, not a method), no refinement.

It also prints, per cell type, how many seeds touch that type and their true share
before and after the refinement. Labels are only used for these diagnostics.

    python benchmarks/claire_seed_oracle.py
    python benchmarks/claire_seed_oracle.py --dataset kang_pbmc --epochs 60
    python benchmarks/claire_seed_oracle.py --set dropout=0.1 refine_steps=300
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from claire.bench.datasets import load_raw  # noqa: E402
from claire.bench.methods import pca  # noqa: E402
from claire.bench.metrics import batch_asw_split, kbet, nmi_ari  # noqa: E402
from claire.bench.preprocess import preprocess  # noqa: E402
from claire.refine import seed_accuracy_by_label  # noqa: E402
from claire.train import ClaireParams, train_claire  # noqa: E402


def scores(embedding: np.ndarray, batches: np.ndarray, labels: np.ndarray) -> str:
    nmi = nmi_ari(embedding, labels, seed=0).nmi
    split = batch_asw_split(embedding, batches, labels)
    return (
        f"bASW {split.basw:.3f} (apart {split.apart:.3f}, overlap {split.overlap:.3f})  "
        f"kBET {kbet(embedding, batches):.3f}  NMI {nmi:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--dataset", default="sim_partial5")
    parser.add_argument(
        "--method", default="claire", help="a CLAIRE entry of the config's method_params"
    )
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's")
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override CLAIRE parameters (values parsed as YAML), e.g. dropout=0.1",
    )
    args = parser.parse_args()

    os.chdir(ROOT)  # relative data paths in the config are relative to the project
    config = yaml.safe_load(Path(args.config).read_text())
    spec = config["datasets"][args.dataset]
    adata = preprocess(
        load_raw(args.dataset, spec, seed=config.get("seed", 0)),
        n_hvg=spec.get("n_hvg", 2000),
        name=args.dataset,
    )
    batches = adata.obs["batch"].astype(str).to_numpy()
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    values = dict((config.get("method_params") or {}).get(args.method) or {})
    values.setdefault("seed", config.get("seed", 0))
    if args.epochs is not None:
        values["epochs"] = args.epochs
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        values[key] = yaml.safe_load(value)
    epochs = int(values["epochs"])
    values["snapshot_epochs"] = sorted(
        {e for e in (4, 8, 15, 30, 60, 120) if e < epochs} | {epochs}
    )
    values["device"] = "cpu"
    params = ClaireParams.from_dict(values)
    print(f"{args.dataset}: {adata.n_obs} cells x {adata.n_vars} genes, CLAIRE {values}")
    print(f"PCA baseline        {scores(pca.run(adata, 'batch', 0), batches, labels)}", flush=True)

    tick = time.perf_counter()
    method = train_claire(adata.X, batches, params, labels, progress=False)
    print(f"claire ({time.perf_counter() - tick:.0f} s), refinement {method.refinement}")
    for epoch, emb in sorted(method.snapshots.items()):
        print(f"  epoch {epoch:3d}         {scores(emb, batches, labels)}", flush=True)

    seeds = method.initial_seeds
    true_only = seeds[labels[seeds[:, 0]] == labels[seeds[:, 1]]]
    oracle_params = ClaireParams.from_dict({**values, "variant": "var2"})
    tick = time.perf_counter()
    oracle = train_claire(adata.X, batches, oracle_params, labels, progress=False, seeds=true_only)
    print(f"true-seed oracle ({time.perf_counter() - tick:.0f} s), {len(true_only)} seeds")
    for epoch, emb in sorted(oracle.snapshots.items()):
        print(f"  epoch {epoch:3d}         {scores(emb, batches, labels)}", flush=True)

    before = seed_accuracy_by_label(method.initial_seeds, labels)
    after = seed_accuracy_by_label(method.final_seeds, labels)
    table = pd.DataFrame(
        {
            "batches": pd.Series(batches).groupby(labels).nunique(),
            "cells": before["cells"],
            "cells_with_seeds": before["cells_with_seeds"],
            "seeds": before["seeds"],
            "true_share": before["true_share"].round(2),
            "seeds_refined": after["seeds"],
            "true_share_refined": after["true_share"].round(2),
        }
    )
    print("seeds per cell type, before and after the refinement")
    print(table.to_string())


if __name__ == "__main__":
    main()
