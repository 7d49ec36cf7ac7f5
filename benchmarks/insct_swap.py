"""INSCT parity, one piece swapped at a time (not CI).

    python benchmarks/insct_swap.py /tmp/authors/insct --authors-python /work/tfenv/bin/python \
        --dataset kang --epochs 120 --seeds 0 1 2 3

For each seed, five runs on the same PCs (``benchmarks/parity/insct.py``'s input):

* ``authors``: the authors' TNN (TensorFlow), recording its encoder's initial weights and
  every triplet batch its generator yields, in training order (``drivers/insct_driver.py``);
* ``ours``: ``claire.bench.competitors.insct`` as the default run trains it;
* ``ours+weights``: ours started from the authors' initial weights (Keras kernel.T);
* ``ours+triplets``: ours trained on the authors' recorded batches, in their order;
* ``ours+both``: both swapped. What then still differs from ``authors`` is the dropout
  masks (TensorFlow's vs torch's stream), float kernels and Adam's epsilon placement.

``--dropout 0`` turns AlphaDropout off on both sides (the authors' copy patched): then
``ours+both`` must follow ``authors`` step for step up to float rounding.

Prints bASW / kBET / NMI / ARI (``claire.bench.metrics``, as ``competitor_parity.py``) per
arm, seed and evaluation epoch, the per-epoch losses, each arm's mean (min-max) over seeds,
the CPU seconds of each run, the initial weights' statistics per layer (authors' recorded,
ours for the same seeds), and what the triplets the authors' run and our ``ours`` run
trained on look like (distances in PC space, batch and cell-type shares of positives and
negatives; mean over seeds). ``--out DIR`` writes the scores and losses as CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.parity import insct as harness  # noqa: E402
from benchmarks.parity.common import (  # noqa: E402
    eval_list,
    load_dataset,
    loss_table,
    obs_arrays,
    pca_scores,
    scores,
)
from benchmarks.parity.external import ENV_PYTHON  # noqa: E402
from benchmarks.parity.insct_swap import (  # noqa: E402
    authors_run,
    initial_weights,
    ours_run,
    recording,
    triplet_stats,
    weight_stats,
)

ARMS = ("authors", "ours", "ours+weights", "ours+triplets", "ours+both")
METRICS = ["bASW", "kBET", "NMI", "ARI"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, nargs="?", help="checkout of lkmklsmn/insct")
    parser.add_argument("--authors-python", type=Path, default=None)
    parser.add_argument("--dataset", default="kang", choices=["kang", "kang_small"])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--eval-epochs", type=int, nargs="*", default=[0, 10, 40, 80])
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=ARMS)
    parser.add_argument("--dropout", type=float, default=0.25, help="both sides")
    parser.add_argument(
        "--hnsw-threads", type=int, default=None, help="authors' hnswlib index build threads"
    )
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/parity_insct_swap"))
    parser.add_argument("--out", type=Path, default=None, help="folder for CSV tables")
    parser.add_argument(
        "--pool",
        type=Path,
        nargs="*",
        default=None,
        help="only summarise earlier calls' *_scores.csv (their last epoch), seeds pooled",
    )
    args = parser.parse_args()
    if args.pool:
        scores_csv = pd.concat([pd.read_csv(f) for f in args.pool])
        last = scores_csv.groupby(["arm", "seed"])["epoch"].transform("max")
        summarise(scores_csv[scores_csv["epoch"] == last])
        return
    if args.checkout is None or args.authors_python is None:
        parser.error("the checkout and --authors-python are needed (unless --pool)")
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)
    os.environ[ENV_PYTHON] = str(args.authors_python)
    harness.SETTINGS["dropout"] = args.dropout
    harness.SETTINGS["hnsw_threads"] = args.hnsw_threads
    patched = harness.prepare_authors(args.checkout.resolve(), args.scratch.resolve())
    adata = load_dataset(args.dataset, seed=0)
    if adata is None:
        raise SystemExit(f"{args.dataset}: data not found")
    batch, labels = obs_arrays(adata)
    evals = eval_list(args.eval_epochs, args.epochs)
    print(
        f"INSCT swap on {args.dataset} ({adata.n_obs} cells), {args.epochs} epochs, "
        f"dropout {args.dropout}, seeds {args.seeds}, arms {args.arms}",
        flush=True,
    )
    rows, runs, drawn = [], {}, {}
    weights: dict[str, list] = {"authors": [], "ours": []}
    stem = args.out / f"insct_swap_{args.dataset}_d{args.dropout:g}" if args.out else None
    for seed in args.seeds:
        authors, record = authors_run(patched, adata, seed, args.epochs, evals)
        options = {
            "authors": None,
            "ours": {},
            "ours+weights": {"weights": record.weights},
            "ours+triplets": {"batches": record.epochs},
            "ours+both": {"weights": record.weights, "batches": record.epochs},
        }
        pcs = harness.model_input(adata, seed)
        weights["authors"].append(record.weights)
        weights["ours"].append(initial_weights(seed, pcs.shape[1], args.dropout))
        steps = [b for epoch in record.epochs for b in epoch]
        drawn[("authors", seed)] = triplet_stats(steps, pcs, batch, labels)
        for arm in args.arms:
            if arm == "authors":
                run = authors
            elif arm == "ours":
                own: list = []
                with recording(own):
                    run = ours_run(adata, seed, args.epochs, evals)
                drawn[("ours", seed)] = triplet_stats(own, pcs, batch, labels)
            else:
                run = ours_run(adata, seed, args.epochs, evals, **options[arm])
            runs[f"{arm}:s{seed}"] = run
            for epoch, emb in sorted(run.embeddings.items()):
                row = {"arm": arm, "seed": seed, "epoch": epoch, **scores(emb, batch, labels)}
                row["max |emb - authors|"] = float(np.abs(emb - authors.embeddings[epoch]).max())
                if epoch == args.epochs:
                    row["final loss"] = run.losses[-1] if run.losses else float("nan")
                    row["cpu_s"] = run.cpu_seconds
                rows.append(row)
            last = rows[-1]
            print(
                f"seed {seed} {arm}: "
                + "  ".join(f"{m} {last[m]:.3f}" for m in METRICS)
                + f"  final loss {last['final loss']:.4f}  {last['cpu_s']:.1f} CPU s"
                + f"  max |emb - authors| {last['max |emb - authors|']:.3g}",
                flush=True,
            )
        if stem is not None:  # after every seed, so that an interrupted call keeps what finished
            stem.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).to_csv(f"{stem}_scores.csv", index=False)
            loss_table(runs).to_csv(f"{stem}_losses.csv")
    table = pd.DataFrame(rows)
    with pd.option_context("display.max_rows", 1000, "display.width", 250):
        print("\nper-epoch loss (selected epochs)")
        losses = loss_table(runs)
        picks = sorted({1, 2, 3, 5, 10, 20, 40, 80, args.epochs} & set(losses.index))
        print(losses.loc[picks].round(4).T.to_string())
        print("\nscores per arm, seed and epoch")
        print(table.round(4).to_string(index=False))
        summarise(table[table["epoch"] == args.epochs])
    print("\ninitial weights (Keras order; pooled over seeds)")
    print(pd.DataFrame({k: weight_stats(v) for k, v in weights.items()}).round(4).to_string())
    print("\ntriplets trained on (mean over seeds)")
    print(pd.DataFrame(drawn).T.groupby(level=0).mean().T.round(4).to_string())
    print("PCA (unintegrated): " + "  ".join(f"{k} {v:.3f}" for k, v in pca_scores(adata).items()))


def summarise(final: pd.DataFrame) -> None:
    """Each arm's mean [min, max] over seeds at the last epoch, and the two-sided
    Mann-Whitney p of each arm against ``authors`` (seeds as independent runs)."""
    columns = [*METRICS, "final loss", "cpu_s"]
    seeds = sorted(final["seed"].unique().tolist())
    print(f"\nlast epoch, seeds {seeds}: mean [min, max] over seeds")
    agg = final.groupby("arm", sort=False)[columns]
    mean, lo, hi = agg.mean(), agg.min(), agg.max()
    summary = mean.round(3).astype(str) + " [" + lo.round(3).astype(str)
    summary = summary + ", " + hi.round(3).astype(str) + "]"
    with pd.option_context("display.width", 250):
        print(summary.to_string())
        if "authors" not in set(final["arm"]):
            return
        base = final[final["arm"] == "authors"]
        p = {
            arm: {
                m: stats.mannwhitneyu(group[m], base[m], alternative="two-sided").pvalue
                for m in columns[:-1]
            }
            for arm, group in final.groupby("arm", sort=False)
            if arm != "authors"
        }
        print("Mann-Whitney p against authors")
        print(pd.DataFrame(p).T.round(3).to_string())


if __name__ == "__main__":
    main()
