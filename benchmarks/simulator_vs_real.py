"""Does the simulator's batch effect look like a real one? Signatures and verdicts (not a test).

For the real datasets in ../shared/data (Kang: batch ``sample_id``, label ``cluster_id``;
CellBench: batch ``batch``, label ``celltype``) and the simulated scenarios of a config
(default: sim_trajectory and sim_partial5 of config/config.yaml) it prints

1. the batch-effect signatures of :mod:`claire.bench.batch_signatures`, the real range
   (min..max over the real datasets) and, per simulated dataset, which signatures fall
   outside it, and which beyond the recorded range widened by its tolerance (the
   check of tests/test_batch_signatures.py);
2. kBET, kBET / kBET ceiling (batches shuffled within cell types: what a perfect
   integration reaches with the dataset's composition) and bASW of the unintegrated PCA,
   Harmony and ComBat on every dataset.

``--old`` adds the scenarios under Splatter's batch model as the simulator had it before
(a log-normal factor on every gene, one per batch, normal library shifts of sd 0.4,
lib_loc 8.5, composition_alpha 1.5), on the current random streams.

    python benchmarks/simulator_vs_real.py                 # sim_partial5 at 3,000 cells
    python benchmarks/simulator_vs_real.py --full --old    # the config's 10,000 cells
    python benchmarks/simulator_vs_real.py --seeds 1 2 3 4 5   # seed-to-seed spread
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anndata as ad  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from claire.bench.batch_signatures import (  # noqa: E402
    REAL_DATASETS,
    batch_signature,
    mixing_reference,
    outside_range,
    outside_real_range,
    real_range,
)
from claire.bench.contract import to_standard_raw  # noqa: E402
from claire.bench.methods import combat, harmony, pca  # noqa: E402
from claire.bench.preprocess import preprocess  # noqa: E402
from claire.bench.simulate import simulate_counts  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OLD_MODEL = {
    "batch_gene_prob": 1.0,
    "batch_type_specific": 0.0,
    "lib_batch_range": 0.0,
    "lib_batch_shift": 0.4,
    "lib_loc": 8.5,
    "composition_alpha": 1.5,
}


def real_datasets() -> dict[str, tuple[ad.AnnData, int]]:
    """The real datasets found in ../shared/data, in the raw contract, with their n_hvg."""
    out = {}
    for name, spec in REAL_DATASETS.items():
        path = SHARED / spec["file"]
        if not path.exists():
            logging.warning("%s: %s not found, skipped", name, path)
            continue
        adata = ad.read_h5ad(path)
        out[name] = (to_standard_raw(adata, spec["batch"], spec["label"], name=name), spec["n_hvg"])
    return out


def simulated_datasets(args: argparse.Namespace) -> dict[str, tuple[ad.AnnData, int]]:
    """The config's simulated scenarios (per seed; optionally also under the old model)."""
    config = yaml.safe_load(Path(args.config).read_text())
    out = {}
    for name, spec in config["datasets"].items():
        source = dict(spec["source"])
        if source.pop("type") != "simulated":
            continue
        if not args.full and source.get("n_cells", 0) > args.max_cells:
            source["n_cells"] = args.max_cells
            name = f"{name}_{args.max_cells // 1000}k"
        seeds = args.seeds or [source.get("seed", 0)]
        models = {"": {}, "_old": OLD_MODEL} if args.old else {"": {}}
        for seed in seeds:
            for suffix, extra in models.items():
                label = name + suffix + (f"_s{seed}" if args.seeds else "")
                raw = simulate_counts(**{**source, **extra, "seed": seed})
                out[label] = (raw, spec.get("n_hvg", 2000))
    return out


def method_scores(data: ad.AnnData, seed: int) -> dict[str, float]:
    """kBET, kBET / ceiling and bASW of PCA, Harmony and ComBat on preprocessed data."""
    batches, labels = data.obs["batch"].to_numpy(), data.obs["cell_type"].to_numpy()
    embeddings = {
        "pca": pca.run(data, "batch", seed),
        "harmony": harmony.run(data, "batch", seed, ncores=1),
        "combat": combat.run(data, "batch", seed),
    }
    row = {}
    for name, embedding in embeddings.items():
        mix = mixing_reference(embedding, batches, labels, seed)
        row[f"{name}_kbet"] = mix["kbet"]
        row[f"{name}_kbet_rel"] = mix["kbet"] / max(mix["kbet_ceiling"], 1e-12)
        row[f"{name}_basw"] = mix["basw"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--full", action="store_true", help="the config's sizes")
    parser.add_argument("--max-cells", type=int, default=3000, help="else cap n_cells here")
    parser.add_argument("--seeds", type=int, nargs="*", default=None, help="simulation seeds")
    parser.add_argument("--old", action="store_true", help="also Splatter's old batch model")
    parser.add_argument("--seed", type=int, default=0, help="PCA / Harmony / kBET seed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning)
    os.chdir(ROOT)

    signatures, scores = {}, {}
    datasets = {**real_datasets(), **simulated_datasets(args)}
    for name, (raw, n_hvg) in datasets.items():
        start = time.perf_counter()
        data = preprocess(raw, n_hvg=n_hvg, name=name)
        pcs = pca.run(data, "batch", args.seed)
        signatures[name] = batch_signature(raw, n_hvg=n_hvg, seed=args.seed, pcs=pcs).as_dict()
        scores[name] = method_scores(data, args.seed)
        print(f"{name}: {raw.n_obs} cells, {time.perf_counter() - start:.0f} s", flush=True)

    table = pd.DataFrame(signatures).T
    low, high = real_range({n: s for n, s in signatures.items() if n in REAL_DATASETS})
    table.loc["real min"], table.loc["real max"] = low, high
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    print("\nBatch-effect signatures (unintegrated data; see claire/bench/batch_signatures.py)")
    print(table.round(3).T.to_string())
    for name, row in signatures.items():
        if name not in REAL_DATASETS:
            strict = outside_range(row, low, high) or "none"
            tolerant = outside_real_range(row) or "none"
            print(f"{name}: outside the real range: {strict}; beyond its tolerance: {tolerant}")
    print("\nPCA / Harmony / ComBat: kBET, kBET / ceiling (batches shuffled within types), bASW")
    print(pd.DataFrame(scores).round(3).to_string())


if __name__ == "__main__":
    main()
