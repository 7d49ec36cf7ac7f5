"""The adapter interface shared by every integration method, and its one runner.

An adapter is a module (dotted path or a ``.py`` file) with one function::

    def run(adata: AnnData, batch_key: str, seed: int, **params) -> np.ndarray | AdapterResult

It receives the preprocessed AnnData (``X`` log-normalised HVGs, ``layers["counts"]``,
``obs["batch"]``/``obs["cell_type"]``; cell types may only be read by a method registered
with ``uses_labels: true``) and returns an ``n_cells x d`` embedding, or an
:class:`~claire.bench.contract.AdapterResult` with epoch snapshots and extra ``uns``
entries. An adapter whose ``run`` takes a ``threads`` argument receives the job's thread
count. The workflow checks a config's parameter names against ``run``'s signature before
any job (:mod:`claire.bench.methods.signature`); an adapter whose ``run`` takes
``**params`` lists their names in a module-level ``PARAMETERS = ("name", ...)`` or names
a settings dataclass of the module there (``PARAMETERS = SmileSettings``: its fields).
:func:`run_method` is the one place that calls adapters: it validates the output, packs
it with its provenance into the result file's AnnData and, when asked, records a failure
as a result with status "failed".
"""

from __future__ import annotations

import inspect
import logging
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np

from claire.bench.contract import (
    BATCH,
    AdapterResult,
    InputError,
    result_adata,
    validate_embedding,
)
from claire.bench.logs import FILE_ONLY, one_line
from claire.bench.registry.callables import load_module

log = logging.getLogger(__name__)

Adapter = Callable[..., "np.ndarray | AdapterResult"]


def load_adapter(module: str) -> Adapter:
    """Return the ``run`` function of a dotted module path or of a ``.py`` file."""
    if module.endswith(".py") and not Path(module).exists():
        raise InputError(f"adapter file {module} does not exist")
    mod = load_module(module, "claire_adapter")
    run = getattr(mod, "run", None)
    if not callable(run):
        raise InputError(f"adapter {module} has no run(adata, batch_key, seed, **params) function")
    return run


def accepts(adapter: Adapter, name: str) -> bool:
    """Whether ``adapter`` takes a keyword argument ``name`` (explicitly, not via **kwargs)."""
    try:
        parameters = inspect.signature(adapter).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


def checked_output(output: Any, n_cells: int, method: str) -> AdapterResult:
    """An adapter's return value as a validated :class:`AdapterResult`."""
    if not isinstance(output, AdapterResult):
        output = AdapterResult(output)
    embedding = validate_embedding(output.embedding, n_cells, method)
    snapshots = {
        int(epoch): validate_embedding(snap, n_cells, f"{method} (epoch {epoch} snapshot)")
        for epoch, snap in output.snapshots.items()
    }
    return AdapterResult(embedding, snapshots, dict(output.uns))


def used_device() -> str:
    """ "cuda" when this process computed on a GPU (PyTorch's allocator was used), else "cpu"."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
        return "cuda"
    return "cpu"


def run_method(
    adata: ad.AnnData,
    method: str,
    adapter: Adapter,
    params: Mapping[str, Any],
    seed: int,
    record_errors: bool = True,
    repeat: int = 0,
    threads: int | None = None,
) -> ad.AnnData:
    """Run ``adapter`` on ``adata`` and return the integration result AnnData.

    With ``record_errors`` any exception becomes a result with status "failed" (and is
    logged with its traceback); otherwise it propagates.
    """
    params = dict(params)
    call_params = dict(params)
    if threads is not None and accepts(adapter, "threads") and "threads" not in call_params:
        call_params["threads"] = threads
    start = time.perf_counter()
    log.info(
        "%s (repeat %d): running on %d cells x %d genes (seed %d), params %s",
        method,
        repeat,
        *adata.shape,
        seed,
        params,
    )
    try:
        output = checked_output(adapter(adata, BATCH, seed, **call_params), adata.n_obs, method)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, not hidden
        if not record_errors:
            raise
        seconds = time.perf_counter() - start
        error = f"{type(exc).__name__}: {exc}"
        log.error("traceback of %s's failure:\n%s", method, traceback.format_exc(), extra=FILE_ONLY)
        log.error("%s failed after %.1f s (recorded as failed): %s", method, seconds, one_line(exc))
        return result_adata(adata, None, method, params, seed, seconds, error, repeat=repeat)
    seconds = time.perf_counter() - start
    log.info(
        "%s: %d-d embedding%s in %.1f s",
        method,
        output.embedding.shape[1],
        f" and {len(output.snapshots)} snapshots" if output.snapshots else "",
        seconds,
    )
    return result_adata(
        adata, output, method, params, seed, seconds, repeat=repeat, device=used_device()
    )
