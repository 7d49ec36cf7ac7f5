"""Command line: ``python -m claire IN.h5ad OUT.h5ad --batch-key batch``.

Trains CLAIRE on the log-normalised HVGs in ``X`` (or ``--layer``) and writes the input
AnnData with ``obsm["X_emb"]``, snapshot embeddings ``obsm["X_emb_epoch_<e>"]`` and the
run statistics in ``uns["claire"]``. Hyper-parameters come from ``--params`` (a JSON
string or a JSON/YAML file) and the dedicated flags, which take precedence.
``--save-model PATH`` also saves the trained model; ``--model PATH`` embeds the input
with a saved model instead of training (genes matched by name).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# Sleeping (not spinning) OpenMP workers: far faster on a busy machine. Only effective
# when torch is not loaded yet, i.e. for `python -m claire` and the console script.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import anndata as ad  # noqa: E402

from claire.api import Claire, integrate  # noqa: E402

log = logging.getLogger("claire.cli")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_path: Path | None = None) -> None:
    """Log records (and warnings) to stderr and, when given, to ``log_path``."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)


def write_h5ad_atomic(adata: ad.AnnData, path: Path) -> None:
    """Write ``adata`` beside ``path`` and rename it into place: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        adata.write_h5ad(tmp, compression="gzip")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_params(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    path = Path(text)
    if path.suffix in {".json", ".yaml", ".yml"}:
        if not path.exists():
            raise SystemExit(f"--params file {path} does not exist")
        if path.suffix == ".json":
            return json.loads(path.read_text())
        import yaml

        return yaml.safe_load(path.read_text()) or {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(
            f"--params is neither a JSON object nor a .json/.yaml file: {exc}"
        ) from exc
    if not isinstance(params, dict):
        raise SystemExit("--params must be a JSON object")
    return params


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claire", description="Integrate scRNA-seq batches with CLAIRE."
    )
    parser.add_argument("input", type=Path, help="h5ad with log-normalised HVGs in X")
    parser.add_argument("output", type=Path, help="h5ad to write (input + obsm['X_emb'])")
    parser.add_argument(
        "--batch-key", help="obs column with the batch (needed for training, not with --model)"
    )
    parser.add_argument("--label-key", help="obs column with cell types (seed statistics only)")
    parser.add_argument("--layer", help="layer with log-normalised expression instead of X")
    parser.add_argument("--params", help="JSON object or .json/.yaml file of ClaireParams")
    parser.add_argument(
        "--preset",
        choices=["default", "paper", "reference"],
        help="starting parameters: default, paper (epochs exactly as the paper) or reference "
        "(the authors' code)",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument(
        "--min-steps", type=int, help="minimum optimiser steps (raises epochs on small data)"
    )
    parser.add_argument(
        "--early-stop",
        action="store_true",
        default=None,
        help="stop when the loss plateaus (the paper's rule; --epochs is the cap)",
    )
    parser.add_argument("--refine-epoch", type=int, help="epoch of the seed refinement")
    parser.add_argument(
        "--variant",
        choices=["full", "var1", "var2"],
        help="full CLAIRE (default), var1 (MNN/KNN positives, no mixup) or var2 (no refinement)",
    )
    parser.add_argument("--snapshot-epochs", type=int, nargs="*", help="epochs to snapshot")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, ...")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--key-added", default="X_emb", help="obsm key of the embedding")
    parser.add_argument("--save-model", type=Path, help="also save the trained model here")
    parser.add_argument(
        "--model",
        type=Path,
        help="embed the input with this saved model (Claire.save / --save-model); no training",
    )
    parser.add_argument(
        "--fill-missing-genes",
        action="store_true",
        help="with --model: model genes absent from the input count as zero expression "
        "(default: an error naming them)",
    )
    parser.add_argument("--log", type=Path, help="also write the log to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def params_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Merge ``--params`` with the dedicated flags (flags win)."""
    params = _load_params(args.params)
    flags = {
        "preset": args.preset,
        "epochs": args.epochs,
        "min_steps": args.min_steps,
        "early_stop": args.early_stop,
        "refine_epoch": args.refine_epoch,
        "snapshot_epochs": args.snapshot_epochs,
        "temperature": args.temperature,
        "variant": args.variant,
        "device": args.device,
        "seed": args.seed,
    }
    params.update({k: v for k, v in flags.items() if v is not None})
    return params


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    if not args.input.exists():
        log.error("input %s does not exist", args.input)
        return 2
    if args.model is not None:
        if args.save_model is not None:
            log.error("--model embeds with a saved model; --save-model only applies to training")
            return 2
        return _embed_with_model(args)
    if args.batch_key is None:
        log.error("--batch-key is required for training (or give --model to embed)")
        return 2
    params = params_from_args(args)
    adata = ad.read_h5ad(args.input)
    log.info("%s: %d cells x %d genes; params %s", args.input, *adata.shape, params)
    try:
        integrate(
            adata,
            args.batch_key,
            key_added=args.key_added,
            label_key=args.label_key,
            layer=args.layer,
            progress=not args.quiet,
            save_model=args.save_model,
            **params,
        )
    except (KeyError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    if args.save_model is not None:
        log.info("saved the model to %s", args.save_model)
    write_h5ad_atomic(adata, args.output)
    log.info("wrote %s", args.output)
    return 0


TRAINING_FLAGS = ("params", "preset", "epochs", "min_steps", "early_stop", "refine_epoch")
TRAINING_FLAGS += ("variant", "snapshot_epochs", "temperature", "seed", "label_key")


def _embed_with_model(args: argparse.Namespace) -> int:
    """``--model``: embed the input with a saved model and write it; no training."""
    ignored = [f"--{name.replace('_', '-')}" for name in TRAINING_FLAGS if getattr(args, name)]
    if ignored:
        log.warning("--model given: no training, so %s are ignored", ", ".join(ignored))
    try:
        model = Claire.load(args.model, device=args.device or "auto")
        adata = ad.read_h5ad(args.input)
        log.info("%s: %d cells x %d genes; model %s", args.input, *adata.shape, args.model)
        adata.obsm[args.key_added] = model.transform(
            adata, layer=args.layer, fill_missing=args.fill_missing_genes
        )
    except (FileNotFoundError, KeyError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    adata.uns["claire"] = {**model.summary(), "fill_missing_genes": args.fill_missing_genes}
    write_h5ad_atomic(adata, args.output)
    log.info("wrote %s", args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
