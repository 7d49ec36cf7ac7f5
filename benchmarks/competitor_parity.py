"""Competitor parity: a method's authors' code against our reimplementation (not CI).

    python benchmarks/competitor_parity.py clear /tmp/authors/CLEAR --datasets kang_small
    python benchmarks/competitor_parity.py smile /tmp/authors/SMILE --seeds 0 1 --epochs 80
    python benchmarks/competitor_parity.py insct /tmp/authors/insct \
        --authors-python /work/tfenv/bin/python

``<method>`` names a module of ``benchmarks/parity/`` (its doc says which repository and
commit, what is patched, which settings both sides run). The authors' checkout is copied
into a scratch folder and patched there at run time (never committed). For each dataset
(preprocessed once: log-normalised HVGs, ``benchmarks/parity/common.py``) and each seed,
both sides train with the authors' default settings; the script prints the per-epoch loss
side by side, the wall time of each run, and bASW / kBET / NMI / ARI at the evaluation
epochs (plus the mean ± half-range over seeds, and the unintegrated PCA's scores).
``--out DIR`` also writes the score and loss tables as CSV.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from benchmarks.parity.common import (  # noqa: E402
    DATASETS,
    ParityRun,
    eval_list,
    load_dataset,
    load_method,
    loss_table,
    pca_scores,
    print_runs,
    score_table,
)
from benchmarks.parity.external import ENV_PYTHON  # noqa: E402

METHODS = ("clear", "smile", "mat2", "scdcc", "insct", "desc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("checkout", type=Path, help="checkout of the authors' repository")
    parser.add_argument("--datasets", nargs="*", default=["kang_small"], choices=DATASETS)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=None, help="default: the authors'")
    parser.add_argument("--eval-epochs", type=int, nargs="*", default=None)
    parser.add_argument("--max-cells", type=int, default=None, help="subsample (stratified)")
    parser.add_argument("--sides", nargs="*", default=["authors", "ours"])
    parser.add_argument("--scratch", type=Path, default=None, help="default /tmp/parity_<method>")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override the module's SETTINGS (both sides), e.g. lr=1 cos=true",
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for CSV tables")
    parser.add_argument(
        "--authors-python",
        type=Path,
        default=None,
        help="interpreter of the authors' environment (insct, desc: TensorFlow)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("competitor_parity").setLevel(logging.INFO)
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    if args.authors_python:
        os.environ[ENV_PYTHON] = str(args.authors_python)

    method = load_method(args.method)
    settings = getattr(method, "SETTINGS", {})
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in settings:
            parser.error(f"--set {key}: {args.method} settings are {sorted(settings)}")
        settings[key] = yaml.safe_load(value)
    epochs = method.DEFAULT_EPOCHS if args.epochs is None else args.epochs
    evals = eval_list(
        method.DEFAULT_EVAL_EPOCHS if args.eval_epochs is None else args.eval_epochs, epochs
    )
    scratch = (args.scratch or Path(f"/tmp/parity_{args.method}")).resolve()
    patched = (
        method.prepare_authors(args.checkout.resolve(), scratch)
        if "authors" in args.sides
        else None
    )
    print(
        f"{method.NAME}: {method.DESCRIPTION}\nepochs {epochs}, evaluated at {evals}, "
        f"seeds {args.seeds}, torch threads {args.threads}, settings {settings}",
        flush=True,
    )
    for name in args.datasets:
        adata = load_dataset(name, seed=0, max_cells=args.max_cells)
        if adata is None:
            continue
        runs: dict[str, ParityRun] = {}
        tables: list[pd.DataFrame] = []
        jobs = [(side, seed) for seed in args.seeds for side in ("authors", "ours")]
        for side, seed in (job for job in jobs if job[0] in args.sides):
            key = f"{side}:s{seed}"
            if side == "authors":
                runs[key] = method.run_authors(patched, adata, seed, epochs, evals)
            else:
                runs[key] = method.run_ours(adata, seed, epochs, evals)
            tables.append(score_table({key: runs[key]}, adata))
            last = tables[-1].iloc[-1].drop(["run", "epoch"]).astype(float).round(3).to_dict()
            print(
                f"[{name}] {key}: {runs[key].seconds:.1f} s, final loss "
                f"{runs[key].losses[-1] if runs[key].losses else float('nan'):.4f}, "
                f"epoch {epochs}: {last}",
                flush=True,
            )
            if args.out:  # after every run, so that an interrupted call keeps what finished
                write_tables(args.out / f"{args.method}_{name}", runs, pd.concat(tables))
        title = (
            f"{method.NAME} on {name}: {adata.n_obs} cells x {adata.n_vars} HVGs, "
            f"{adata.obs['batch'].nunique()} batches, {adata.obs['cell_type'].nunique()} types"
        )
        print_runs(title, runs, adata, pca_scores(adata), pd.concat(tables))


def write_tables(stem: Path, runs: dict[str, ParityRun], table: pd.DataFrame) -> None:
    """``<stem>_scores.csv``, ``_losses.csv`` and ``_seconds.csv`` of the runs so far."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(f"{stem}_scores.csv", index=False)
    loss_table(runs).to_csv(f"{stem}_losses.csv")
    pd.DataFrame(
        {
            "seconds": {r: run.seconds for r, run in runs.items()},
            "cpu_seconds": {r: run.cpu_seconds for r, run in runs.items()},
        }
    ).to_csv(f"{stem}_seconds.csv")


if __name__ == "__main__":
    main()
