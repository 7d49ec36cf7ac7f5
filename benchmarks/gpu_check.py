"""CUDA against CPU for CLAIRE and every GPU-capable method (not a test; issue 15 item 4).

On a machine with an NVIDIA GPU it simulates a 15k-cell dataset (5 batches, 10 types),
preprocesses it as the workflow does, then runs each method whose registry entry says
``gpu: true`` (CLAIRE, its ablations, scVI and the deep competitors) once on CUDA and once
on the CPU with the same seed and short settings. It prints wall time and cells per
second per device, the metrics of both embeddings and whether the CUDA metrics are within
noise of the CPU ones (``--tolerance``, default 0.05 on bASW, kBET, NMI, ARI). Exit status:
0 all within tolerance, 1 a difference beyond it or a failure, 2 no CUDA device.

    benchmarks/gpu_check.sh                      # the whole check, < 5 minutes on one GPU
    python benchmarks/gpu_check.py --cells 2000 --device cpu    # the CPU half only (smoke)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from claire.bench.registry.methods import load_registry  # noqa: E402

METRIC_NAMES = ("basw", "kbet", "nmi", "ari")
# Short settings: enough training to compare devices, not the paper's length.
SHORT = {
    "claire": {"preset": "paper", "epochs": 20, "refine_epoch": 4, "snapshot_epochs": []},
    "claire_var1": {"preset": "paper", "epochs": 20, "refine_epoch": 4, "snapshot_epochs": []},
    "claire_var2": {"preset": "paper", "epochs": 20, "snapshot_epochs": []},
    "scvi": {"max_epochs": 20},
}
DEFAULT_SHORT = {"epochs": 20, "snapshot_epochs": []}


def gpu_methods() -> list[str]:
    return [name for name, spec in load_registry().items() if spec.gpu]


def device_params(adapter, device: str) -> dict:
    """The keyword that picks the device of ``adapter``: ``device`` or scVI's ``accelerator``."""
    from claire.bench.methods.base import accepts

    if accepts(adapter, "accelerator"):
        return {"accelerator": "gpu" if device == "cuda" else "cpu"}
    return {"device": device}


def short_params(name: str, adapter) -> dict:
    """Short settings that the adapter accepts."""
    import inspect

    from claire.bench.methods.base import accepts

    wanted = SHORT.get(name, DEFAULT_SHORT)
    try:
        open_kwargs = any(
            p.kind is inspect.Parameter.VAR_KEYWORD
            for p in inspect.signature(adapter).parameters.values()
        )
    except (TypeError, ValueError):
        open_kwargs = False
    return {k: v for k, v in wanted.items() if open_kwargs or accepts(adapter, k)}


def run_once(adata, name: str, spec, device: str, seed: int) -> dict:
    from claire.bench.methods.base import run_method
    from claire.bench.methods.runners import adapter_for, limit_threads
    from claire.bench.metrics import MetricSettings, compute_all

    adapter = adapter_for(spec.runner, spec.module, spec.script)
    params = {**spec.params, **short_params(name, adapter), **device_params(adapter, device)}
    limit_threads(os.cpu_count())
    start = time.perf_counter()
    result = run_method(adata, name, adapter, params, seed, record_errors=True)
    seconds = time.perf_counter() - start
    info = result.uns["integration"]
    row = {"method": name, "device": device, "status": info["status"], "seconds": seconds}
    row["cells_per_s"] = adata.n_obs / seconds
    row["error"] = info["error"]
    if info["status"] == "ok":
        values = compute_all(result, settings=MetricSettings(n_jobs=os.cpu_count() or 1))
        row.update({m: values[m] for m in METRIC_NAMES})
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=15000)
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--methods", nargs="*", default=None, help="default: every gpu method")
    parser.add_argument("--device", choices=("both", "cuda", "cpu"), default="both")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from claire.bench.preprocess import preprocess
    from claire.bench.simulate import simulate_counts

    devices = ["cuda", "cpu"] if args.device == "both" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("gpu_check: no CUDA device visible to PyTorch; nothing to compare", file=sys.stderr)
        return 2
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    registry = load_registry()
    methods = args.methods or gpu_methods()
    start = time.perf_counter()
    raw = simulate_counts(
        n_cells=args.cells,
        n_genes=int(args.genes * 1.25),
        n_batches=5,
        n_cell_types=10,
        seed=args.seed,
    )
    adata = preprocess(raw, n_hvg=args.genes, name="gpu_check")
    print(f"data: {adata.n_obs} cells x {adata.n_vars} HVGs in {time.perf_counter() - start:.1f} s")
    rows = []
    for name in methods:
        for device in devices:
            row = run_once(adata, name, registry[name], device, args.seed)
            rows.append(row)
            metrics = " ".join(f"{m} {row.get(m, float('nan')):.3f}" for m in METRIC_NAMES)
            print(
                f"{name:14s} {device:4s} {row['status']:6s} {row['seconds']:8.1f} s "
                f"{row['cells_per_s']:9.0f} cells/s  {metrics} {row['error'][:80]}",
                flush=True,
            )
    failures = [r for r in rows if r["status"] != "ok"]
    beyond = []
    if len(devices) == 2:
        by_key = {(r["method"], r["device"]): r for r in rows if r["status"] == "ok"}
        print("\nmethod          speed-up  max |metric CUDA - CPU|  verdict")
        for name in methods:
            cuda, cpu = by_key.get((name, "cuda")), by_key.get((name, "cpu"))
            if not (cuda and cpu):
                continue
            gap = max(abs(cuda[m] - cpu[m]) for m in METRIC_NAMES)
            verdict = "within noise" if gap <= args.tolerance else "DIFFERENT"
            if gap > args.tolerance:
                beyond.append(name)
            print(f"{name:14s} {cpu['seconds'] / cuda['seconds']:8.1f}x  {gap:22.3f}  {verdict}")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 1 if failures or beyond else 0


if __name__ == "__main__":
    raise SystemExit(main())
