"""The one integration door: how the adapter of each runner is obtained, and the job call.

``python``: the ``run`` function of the registry entry's module; ``rscript``: the R
script through the exchange format (:mod:`claire.bench.methods.rscript`); ``claire``: the
CLAIRE trainer (:mod:`claire.bench.methods.claire`); ``precomputed``: an embedding made
elsewhere (:mod:`claire.bench.methods.precomputed`). Everything else (validation, timing,
error recording, the result file) is :func:`claire.bench.methods.base.run_method`.
"""

from __future__ import annotations

import os

# Sleeping (not spinning) OpenMP workers: far faster when jobs share their cores. Set
# before any adapter imports torch or numba.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import anndata as ad  # noqa: E402

from claire.bench.contract import InputError  # noqa: E402
from claire.bench.methods.base import Adapter, load_adapter, run_method  # noqa: E402

RUNNER_MODULES = {
    "claire": "claire.bench.methods.claire",
    "precomputed": "claire.bench.methods.precomputed",
}


def adapter_for(runner: str, module: str | None = None, script: str | None = None) -> Adapter:
    """The adapter of a registry entry's runner."""
    if runner == "python":
        if not module:
            raise InputError("runner python needs a module")
        return load_adapter(module)
    if runner == "rscript":
        if not script:
            raise InputError("runner rscript needs a script")
        from claire.bench.methods.rscript import r_adapter

        return r_adapter(Path(script))
    if runner in RUNNER_MODULES:
        return load_adapter(RUNNER_MODULES[runner])
    raise InputError(f"unknown runner {runner!r}")


def limit_threads(threads: int | None) -> None:
    """Cap PyTorch's CPU threads at the job's (when PyTorch is installed)."""
    if threads is None:
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(max(1, int(threads)))


def integrate_file(
    path: str | os.PathLike,
    runner: str,
    method: str,
    params: Mapping[str, Any],
    seed: int,
    module: str | None = None,
    script: str | None = None,
    repeat: int = 0,
    threads: int | None = None,
    record_errors: bool = True,
) -> ad.AnnData:
    """Run one method on the preprocessed dataset at ``path``; return the result AnnData."""
    adapter = adapter_for(runner, module, script)
    limit_threads(threads)
    return run_method(
        ad.read_h5ad(path),
        method,
        adapter,
        params,
        seed,
        record_errors=record_errors,
        repeat=repeat,
        threads=threads,
    )
