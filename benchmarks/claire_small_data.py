"""CLAIRE on small data: training length settings against the PCA baseline (not a test).

Trains CLAIRE under several settings on the real data of ../shared/data (Kang PBMC,
1,556 cells in 4 batches; CellBench, 909 cells in 3 plates; ``small2``, a harder case: 500
Kang cells of two samples), two small simulated sets (800 cells, 2 batches, 5 types;
``sim_balanced`` with similar cell-type proportions in both batches, ``sim_small`` with the
simulator's default, strongly different ones) and the default run's simulated scenarios
(``sim_trajectory``, ``sim_partial5``, as config/config.yaml defines them), at dropout 0 and
0.3, and prints bASW / kBET / NMI next to the unintegrated PCA with the target verdict:
kBET above PCA's, bASW not below PCA's, NMI at most 0.05 below PCA's. bASW's shortfall
from 1 is split by the sign of the cells' batch silhouettes: ``apart`` (cells nearer their
own batch) and ``overlap`` (cells nearer another batch than their own).

Settings (``--settings``, any subset):

- ``paper``: the paper's schedule in epochs exactly (preset "paper", 120 epochs);
- ``paper_floor``: the defaults, i.e. 120 epochs raised to ``min_steps`` optimiser steps,
  the refinement after ``refine_steps`` steps and Seurat's seed filter capped at
  ``k_filter_share`` of each batch on small data (``--set k_filter_share=null``: fixed 200);
- ``run30`` / ``run30_floor``: the default run's 30 epochs without / with that floor;
- ``reference``: the authors' code's choices (preset "reference", 120 epochs);
- ``early_stop``: the defaults with the paper's stopping rule (120 epochs as the cap).

    python benchmarks/claire_small_data.py
    python benchmarks/claire_small_data.py --datasets kang --dropouts 0.3 --seeds 0 1 2
    python benchmarks/claire_small_data.py --datasets sim_partial5 --set k_filter=50
    python benchmarks/claire_small_data.py --settings run30_floor --baselines harmony scanorama
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import anndata as ad  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from claire.bench.contract import to_standard_raw  # noqa: E402
from claire.bench.methods import harmony, pca, scanorama  # noqa: E402
from claire.bench.metrics import batch_asw_split, compute_all  # noqa: E402
from claire.bench.preprocess import preprocess  # noqa: E402
from claire.bench.simulate import simulate_counts  # noqa: E402
from claire.bench.subsample import stratified_subsample  # noqa: E402
from claire.params import ClaireParams  # noqa: E402
from claire.train import train_claire  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
NMI_TOLERANCE = 0.05
BASELINES: dict[str, Callable[[ad.AnnData], np.ndarray]] = {
    "harmony": lambda adata: harmony.run(adata, "batch", 0),
    "scanorama": lambda adata: scanorama.run(adata, "batch", 0),
}

SETTINGS: dict[str, dict] = {
    "paper": {"preset": "paper"},
    "paper_floor": {"preset": "default"},
    "run30": {"preset": "paper", "epochs": 30},
    "run30_floor": {"preset": "default", "epochs": 30},
    "reference": {"preset": "reference"},
    "early_stop": {"preset": "default", "early_stop": True},
}


def _real(file: str, batch: str, label: str, n_hvg: int) -> Callable[[Path], ad.AnnData]:
    def load(data_dir: Path) -> ad.AnnData:
        raw = to_standard_raw(ad.read_h5ad(data_dir / file), batch, label, name=file)
        return preprocess(raw, n_hvg=n_hvg, name=file)

    return load


def _small_two_batch(data_dir: Path) -> ad.AnnData:
    """A small, strongly batch-affected two-batch real case (``small2`` of
    benchmarks/claire_parity.py): Kang's samples ctrl101 and stim101, 500 cells drawn
    stratified by batch and cell type (seed 0)."""
    raw = to_standard_raw(
        ad.read_h5ad(data_dir / "kang_pbmc_4samples.h5ad"), "sample_id", "cluster_id", name="small2"
    )
    raw = raw[raw.obs["batch"].isin(["ctrl101", "stim101"])].copy()
    raw.obs["batch"] = raw.obs["batch"].cat.remove_unused_categories()
    return preprocess(stratified_subsample(raw, 500, seed=0), n_hvg=1000, name="small2")


def _simulated(composition_alpha: float) -> Callable[[Path], ad.AnnData]:
    """800 cells, 2 batches, 5 cell types with 20 % DE genes; the batches' cell-type
    proportions are Dirichlet(``composition_alpha``): 1.5 (the simulator's default) makes
    them differ strongly between batches, 50 nearly equal."""

    def load(data_dir: Path) -> ad.AnnData:
        raw = simulate_counts(
            n_cells=800,
            n_genes=1000,
            n_batches=2,
            n_cell_types=5,
            de_prob=0.2,
            composition_alpha=composition_alpha,
            seed=0,
        )
        return preprocess(raw, n_hvg=1000, name="sim_small")

    return load


def _default_run(name: str) -> Callable[[Path], ad.AnnData]:
    """A simulated scenario of the default run, exactly as config/config.yaml defines it."""

    def load(data_dir: Path) -> ad.AnnData:
        entry = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["datasets"][name]
        source = {k: v for k, v in entry["source"].items() if k != "type"}
        return preprocess(simulate_counts(**source), n_hvg=entry["n_hvg"], name=name)

    return load


DATASETS: dict[str, Callable[[Path], ad.AnnData]] = {
    "kang": _real("kang_pbmc_4samples.h5ad", "sample_id", "cluster_id", 1000),
    "cellbench": _real("cellbench_5cl_3plates.h5ad", "batch", "celltype", 2000),
    "small2": _small_two_batch,
    "sim_balanced": _simulated(50.0),
    "sim_small": _simulated(1.5),
    "sim_trajectory": _default_run("sim_trajectory"),
    "sim_partial5": _default_run("sim_partial5"),
}


def scores(embedding: np.ndarray, adata: ad.AnnData) -> dict[str, float]:
    batches, labels = adata.obs["batch"].to_numpy(), adata.obs["cell_type"]
    values = compute_all(embedding, batches, labels)
    split = batch_asw_split(embedding, batches, labels)
    return {
        **{key: float(values[key]) for key in ("basw", "kbet", "nmi")},
        "apart": split.apart,
        "overlap": split.overlap,
    }


def run_claire(
    adata: ad.AnnData, setting: str, dropout: float, seed: int, extra: dict | None = None
) -> dict:
    values = {**SETTINGS[setting], **(extra or {}), "dropout": dropout, "seed": seed}
    values["device"] = "cpu"
    params = ClaireParams.from_dict(values)
    start = time.perf_counter()
    result = train_claire(
        adata.X,
        adata.obs["batch"].to_numpy(),
        params,
        labels=adata.obs["cell_type"].to_numpy(),
        progress=False,
    )
    refinement = result.refinement
    return {
        **scores(result.embedding, adata),
        "epochs": result.stopped_epoch,
        "steps": int(sum(row["steps"] for row in result.history)),
        "refine_epoch": refinement["epoch"],
        "true_seeds": refinement["true_frac_before"],
        "true_kept": refinement["true_frac_after"],
        "seconds": time.perf_counter() - start,
    }


def verdict(row: pd.Series, base: pd.Series) -> str:
    checks = {
        "kBET": row["kbet"] > base["kbet"],
        "bASW": row["basw"] >= base["basw"],
        "NMI": row["nmi"] >= base["nmi"] - NMI_TOLERANCE,
    }
    failed = [name for name, ok in checks.items() if not ok]
    return "ok" if not failed else "fails " + "/".join(failed)


def measure(args: argparse.Namespace) -> pd.DataFrame:
    rows = []
    for name in args.datasets:
        adata = DATASETS[name](args.data_dir)
        base = scores(pca.run(adata, "batch", 0), adata)
        rows.append({"dataset": name, "setting": "pca", "dropout": np.nan, **base})
        print(f"{name}: {adata.n_obs} cells x {adata.n_vars} genes; PCA {base}", flush=True)
        for method in args.baselines:
            row = scores(BASELINES[method](adata), adata)
            rows.append({"dataset": name, "setting": method, "dropout": np.nan, **row})
            print(f"  {method}: {row}", flush=True)
        for dropout in args.dropouts:
            for setting in args.settings:
                for seed in args.seeds:
                    row = run_claire(adata, setting, dropout, seed, args.set)
                    row.update(dataset=name, setting=setting, dropout=dropout, seed=seed)
                    rows.append(row)
                    print(f"  {setting} dropout {dropout} seed {seed}: {row}", flush=True)
    return pd.DataFrame(rows)


def _split(row: pd.Series) -> str:
    """bASW's shortfall by silhouette sign (see claire.bench.metrics.batch_asw_split)."""
    return f"{row['apart']:.3f} / {row['overlap']:.3f}"


def table(frame: pd.DataFrame) -> str:
    """Markdown table: mean (and spread over seeds) per dataset, dropout and setting."""
    lines = [
        "| data | dropout | setting | epochs | steps | bASW | kBET | NMI | bASW shortfall: "
        "apart / overlap | true seeds (kept) | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, data in frame.groupby("dataset", sort=False):
        base = data[data["setting"] == "pca"].iloc[0]
        lines.append(
            f"| {name} | | PCA | | | {base['basw']:.3f} | {base['kbet']:.3f} | "
            f"{base['nmi']:.3f} | {_split(base)} | | |"
        )
        for method in BASELINES:
            for _, other in data[data["setting"] == method].iterrows():
                lines.append(
                    f"| {name} | | {method} | | | {other['basw']:.3f} | {other['kbet']:.3f} | "
                    f"{other['nmi']:.3f} | {_split(other)} | | {verdict(other, base)} |"
                )
        runs = data[~data["setting"].isin(["pca", *BASELINES])]
        for (dropout, setting), group in runs.groupby(["dropout", "setting"], sort=False):
            mean = group.mean(numeric_only=True)
            spread = group.std(numeric_only=True, ddof=0) if len(group) > 1 else None

            def cell(key: str, mean: pd.Series = mean, spread: pd.Series | None = spread) -> str:
                text = f"{mean[key]:.3f}"
                return text if spread is None else f"{text} ± {spread[key]:.3f}"

            seeds = f"{mean['true_seeds']:.2f} ({mean['true_kept']:.2f})"
            lines.append(
                f"| {name} | {dropout:g} | {setting} | {mean['epochs']:.0f} | "
                f"{mean['steps']:.0f} | {cell('basw')} | {cell('kbet')} | {cell('nmi')} | "
                f"{_split(mean)} | {seeds} | {verdict(mean, base)} |"
            )
    return "\n".join(lines)


def _parse_override(item: str) -> tuple[str, object]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
    return key, yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--dropouts", nargs="+", type=float, default=[0.0, 0.3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--baselines",
        nargs="*",
        default=[],
        choices=BASELINES,
        help="also score these methods (defaults of their adapters) next to PCA",
    )
    parser.add_argument("--csv", type=Path, help="also write every run to this CSV")
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override CLAIRE parameters in every setting (values parsed as YAML)",
    )
    args = parser.parse_args()
    args.set = dict(_parse_override(item) for item in args.set)
    torch.set_num_threads(args.threads)
    frame = measure(args)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    print(table(frame))


if __name__ == "__main__":
    main()
