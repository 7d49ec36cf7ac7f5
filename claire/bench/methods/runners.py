"""The one integration door: how the adapter of each runner is obtained, and the job call.

``python``: the ``run`` function of the registry entry's module; ``rscript``: the R
script through the exchange format (:mod:`claire.bench.methods.rscript`); ``claire``: the
CLAIRE trainer (:mod:`claire.bench.methods.claire`); ``precomputed``: an embedding made
elsewhere (:mod:`claire.bench.methods.precomputed`). Everything else (validation, timing,
error recording, the result file) is :func:`claire.bench.methods.base.run_method`.
"""

from __future__ import annotations

import os
import sys

# Sleeping (not spinning) OpenMP workers: far faster when jobs share their cores. Set
# before any adapter imports torch or numba.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import anndata as ad  # noqa: E402

from claire.bench.contract import (  # noqa: E402
    STATUS_OK,
    STATUS_OVER_BUDGET,
    STATUS_SKIPPED,
    InputError,
    result_adata,
)
from claire.bench.io import write_h5ad_atomic  # noqa: E402
from claire.bench.methods.base import Adapter, load_adapter, run_method  # noqa: E402
from claire.bench.methods.budget import Budget, enforced  # noqa: E402

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
    """Cap PyTorch's CPU threads at the job's, when the adapter uses PyTorch (it is imported
    by then: adapters are loaded first)."""
    torch = sys.modules.get("torch")
    if threads is not None and torch is not None:
        torch.set_num_threads(max(1, int(threads)))


def previous_status(path: str | os.PathLike | None) -> str:
    """Status of the run this one waits for (the same method on the next smaller size)."""
    if path is None:
        return STATUS_OK
    previous = ad.read_h5ad(path, backed="r")
    try:
        return str(previous.uns.get("integration", {}).get("status", STATUS_OK))
    finally:
        previous.file.close()


def integrate_file(
    path: str | os.PathLike,
    output: str | os.PathLike,
    runner: str,
    method: str,
    params: Mapping[str, Any],
    seed: int,
    module: str | None = None,
    script: str | None = None,
    repeat: int = 0,
    threads: int | None = None,
    record_errors: bool = True,
    budget: Budget | None = None,
    previous: str | os.PathLike | None = None,
) -> None:
    """Run one method on the preprocessed dataset at ``path``; write the result to ``output``.

    With a ``budget`` (scaling experiment) the run is stopped and recorded as over budget
    when it breaks it; when ``previous`` (the same method on a smaller dataset) did not
    finish, this run is recorded as skipped without running.
    """
    budget = budget or Budget()
    adata = ad.read_h5ad(path)
    before = previous_status(previous)
    if before != STATUS_OK:
        reason = f"not run: the method's run on a smaller dataset ended {before!r} ({previous})"
        skipped = result_adata(
            adata, None, method, params, seed, 0.0, reason, repeat, STATUS_SKIPPED
        )
        write_h5ad_atomic(skipped, output)
        return
    adapter = adapter_for(runner, module, script)
    limit_threads(threads)

    def record_over_budget(reason: str) -> None:
        over = result_adata(
            adata,
            None,
            method,
            params,
            seed,
            budget.seconds or 0.0,
            reason,
            repeat,
            STATUS_OVER_BUDGET,
        )
        write_h5ad_atomic(over, output)

    with enforced(budget, record_over_budget):
        result = run_method(
            adata,
            method,
            adapter,
            params,
            seed,
            record_errors=record_errors,
            repeat=repeat,
            threads=threads,
        )
    write_h5ad_atomic(result, output)
