"""MAT2 parity with shared triplets: splits triplet sampling from optimisation (not CI).

    python benchmarks/mat2_shared_triplets.py /tmp/authors/MAT2 --dataset kang --seeds 0 1 2 3

For each seed, three runs of ``epochs`` epochs per stage, all from the same initial network
(same seed) and the same anchor table (``benchmarks/parity/mat2.py``):

* ``authors``: the authors' ``BuildMAT2`` (manual mode, CLAIRE's settings), recording every
  triplet it trains on (stage 1: anchor, positive, negative and both scores, as its
  ``train(record=True)`` records the indices; stage 2: anchor, positive, negative);
* ``ours``: :func:`claire.bench.competitors.mat2.train_mat2` drawing its own triplets
  (recorded the same way);
* ``replay``: our trainer fed the authors' recorded batches and triplets in their order
  (our ``_batches`` / ``encoder_triplets`` / ``decoder_triplets`` replaced by the record;
  the networks, losses, valid-triplet filter and optimisers are ours).

If ``replay`` reproduces ``authors`` (reconstruction difference at float rounding level,
same scores), the optimisation is the same and any gap between ``authors`` and ``ours`` comes
from the triplets; the script then prints the distribution of the triplets each side drew
(valid share, collisions, margins, same-batch shares of positives and negatives, how
uniform the positive and negative draws are) so that a sampling difference would show.
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

from benchmarks.parity import mat2 as harness  # noqa: E402
from benchmarks.parity.common import Timer, load_dataset, obs_arrays, scores  # noqa: E402
from benchmarks.parity.mat2_triplets import (  # noqa: E402
    Record,
    authors_run,
    flat,
    ours_run,
    recording,
    replaying,
    triplet_stats,
)
from claire.bench.competitors import mat2 as ours  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="checkout of Zhang-Jinglong/MAT2")
    parser.add_argument("--dataset", default="kang")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10, help="per stage")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/parity_mat2"))
    parser.add_argument("--out", type=Path, default=None, help="CSV of the scores")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)
    patched = harness.prepare_authors(args.checkout.resolve(), args.scratch.resolve())
    adata = load_dataset(args.dataset, seed=0)
    batch, labels = obs_arrays(adata)
    rows, dists = [], {}
    for seed in args.seeds:
        anchors = ours.scored_anchors(adata, "batch", seed)
        partners = ours.PartnerTable.from_anchors(anchors.pairs, anchors.score, adata.n_obs)
        with Timer() as t_auth:
            rec_authors, record = authors_run(patched, adata, seed, args.epochs)
        with Timer() as t_replay, replaying(record):
            rec_replay = ours_run(adata, seed, args.epochs)
        drawn: Record = {"enc": [], "dec": []}
        with Timer() as t_ours, recording(drawn):
            rec_ours = ours_run(adata, seed, args.epochs)
        for side, rec, timer in (
            ("authors", rec_authors, t_auth),
            ("replay", rec_replay, t_replay),
            ("ours", rec_ours, t_ours),
        ):
            emb = ours.embed_reconstruction(rec, 50, seed, "pca")
            row = {"seed": seed, "side": side, **scores(emb, batch, labels)}
            row["max |rec - authors|"] = float(np.abs(rec - rec_authors).max())
            row["cpu_s"] = timer.cpu_seconds
            rows.append(row)
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
        dists[("authors", seed)] = triplet_stats(
            flat(record["enc"]), flat(record["dec"]), adata, partners
        )
        dists[("ours", seed)] = triplet_stats(
            flat(drawn["enc"]), flat(drawn["dec"]), adata, partners
        )
        sys.stdout.flush()
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"\n{args.dataset}: {adata.n_obs} cells, {args.epochs} epochs per stage")
    print(table.round(4).to_string(index=False))
    metrics = ["bASW", "kBET", "NMI", "ARI"]
    print("\nmean over seeds (min-max)")
    summary = table.groupby("side")[metrics].agg(["mean", "min", "max"])
    print(summary.round(3).to_string())
    print("\ntriplets drawn (mean over seeds)")
    frame = pd.DataFrame(dists).T.groupby(level=0).mean().T
    print(frame.round(4).to_string())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
