"""iSMNN parity: the authors' R code (yycunc/iSMNN @ 318ff08) against ours (not CI).

    git -C /work/.mirror/yycunc+iSMNN/repo archive HEAD R | tar -x -C /tmp/authors/iSMNN
    python benchmarks/ismnn_parity.py /tmp/authors/iSMNN --datasets kang --seeds 42

The package cannot be installed here (its import SMNN is GitHub-only), so its two R files are
copied into a scratch folder, patched for Seurat 4 (``new(Class = "AnchorSet")`` becomes
``"IntegrationAnchorSet"``, twice; a message printing each round's F statistic) and sourced by
``benchmarks/parity/ismnn_authors.R`` (the short-run strategy, which does not reach the
long run's undefined function). Per dataset and seed: our method (``method_params.ismnn`` of
``config/config.yaml``, true cell types as clusters) runs with its exchange folder kept; the
authors' ``iSMNN`` then runs on the same folder (same counts, log-normalised HVGs, batches,
cluster labels, parameters and matched clusters). Both 30-d PCAs are scored with the
benchmark's bASW / kBET / NMI / ARI (``benchmarks/parity/common.py``). The package fixes
Seurat's seeds (42) for CCA, PCA and UMAP; ours uses the run's seed, so seed 42 gives both
sides the same seeds. CPU seconds are those of the R child processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from benchmarks.parity.common import (  # noqa: E402
    copy_and_patch,
    load_dataset,
    obs_arrays,
    pca_scores,
    scores,
)
from claire.bench.competitors import ismnn as ours  # noqa: E402
from claire.bench.methods.rscript import read_embedding  # noqa: E402

DRIVER = ROOT / "benchmarks" / "parity" / "ismnn_authors.R"
PATCHES = {
    "R/iSMNN_utility.R": [('new(Class = "AnchorSet"', 'new(Class = "IntegrationAnchorSet"')],
    # logging only: each round's F statistic of the stop rule
    "R/iSMNN.R": [
        (
            'Fbatch_1round = as.data.frame(temp_1round)["batch",]',
            'Fbatch_1round = as.data.frame(temp_1round)["batch",]; '
            'message("F(batch) = ", Fbatch_1round)',
        ),
        (
            'Fbatch_k = as.data.frame(temp_k)["batch",]',
            'Fbatch_k = as.data.frame(temp_k)["batch",]; message("F(batch) = ", Fbatch_k)',
        ),
    ],
}


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_authors(scratch: Path, folder: Path) -> tuple[np.ndarray, float, str]:
    """The authors' iSMNN on our exchange ``folder``: embedding, CPU seconds, its log."""
    cpu = child_cpu()
    proc = subprocess.run(
        ["Rscript", "--vanilla", str(DRIVER), str(scratch / "R"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    log_text = proc.stdout + proc.stderr
    (folder / "authors.log").write_text(log_text)
    if proc.returncode != 0:
        raise RuntimeError(f"authors' iSMNN failed:\n{log_text[-3000:]}")
    table = pd.read_csv(folder / "authors_embedding.csv").set_index("cell")
    expected = [f"cell_{i}" for i in range(len(table))]
    return table.loc[expected].to_numpy(np.float32), child_cpu() - cpu, log_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="snapshot of yycunc/iSMNN")
    parser.add_argument("--datasets", nargs="*", default=["kang"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[42])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/parity_ismnn"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    params = dict(config["method_params"].get("ismnn") or {})
    params.update({k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)})
    scratch = copy_and_patch(
        args.checkout, args.scratch / "authors", ["R"], PATCHES, required="R/iSMNN.R"
    )
    rows = []
    for name in args.datasets:
        adata = load_dataset(name, seed=0)
        if adata is None:
            continue
        batch, labels = obs_arrays(adata)
        rows.append({"dataset": name, "side": "PCA", **pca_scores(adata)})
        for seed in args.seeds:
            folder = args.scratch / f"{name}_s{seed}"
            cpu, tick = child_cpu(), time.perf_counter()
            result = ours.run(adata, "batch", seed, keep_exchange=folder, **params)
            ours_cpu = child_cpu() - cpu
            stats = result.uns["ismnn"]
            rows.append(
                {
                    "dataset": name,
                    "seed": seed,
                    "side": "ours",
                    **scores(result.embedding, batch, labels),
                    "rounds": int(stats["rounds_accepted"]),
                    "F": np.round(stats["f_batch"], 3).tolist(),
                    "R cpu_s": round(ours_cpu, 1),
                    "wall_s": round(time.perf_counter() - tick, 1),
                }
            )
            print(rows[-1], flush=True)
            tick = time.perf_counter()
            emb, cpu_s, text = run_authors(scratch, folder)
            finished = [line for line in text.splitlines() if "Finished!" in line]
            rows.append(
                {
                    "dataset": name,
                    "seed": seed,
                    "side": "authors",
                    **scores(emb, batch, labels),
                    "rounds": finished[-1] if finished else "?",
                    "R cpu_s": round(cpu_s, 1),
                    "wall_s": round(time.perf_counter() - tick, 1),
                }
            )
            print(rows[-1], flush=True)
            ours_emb = read_embedding(folder, adata.n_obs)
            diff = float(np.abs(np.abs(ours_emb) - np.abs(emb)).max())
            print(f"max | |ours PC| - |authors PC| | = {diff:.4g}", flush=True)
            matched = json.loads((folder / "uns.json").read_text())["ismnn"]["matched_clusters"]
            print(f"matched clusters: {matched}", flush=True)
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
