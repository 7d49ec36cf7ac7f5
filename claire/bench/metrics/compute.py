"""All metrics of one embedding: inputs check, settings and the one-call ``compute_all``.

The plain-array functions (``batch_asw``, ``label_asw``, ``kbet``, ``nmi_ari``) serve
callers that need one metric (CLAIRE's trainer, figures); ``compute_all`` shares one
pairwise pass and one k-NN graph between every metric, which is what makes a
100k-cell embedding affordable.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anndata as ad
import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from claire.bench.contract import BATCH, EMBEDDING_KEY, LABEL, InputError, validate_embedding
from claire.bench.metrics import downstream, extended
from claire.bench.metrics.clustering import PAPER_RESOLUTIONS, SweepResult, louvain_sweep
from claire.bench.metrics.downstream import LABEL_TRANSFER_K
from claire.bench.metrics.kbet import kbet_acceptance
from claire.bench.metrics.knn_graph import knn_connectivities
from claire.bench.metrics.pairwise import PairwiseSummary, pairwise_summary
from claire.bench.metrics.silhouette import (
    BatchAswSplit,
    batch_asw_from_summary,
    batch_asw_split_from_summary,
    label_asw_from_summary,
    label_silhouettes,
)
from claire.bench.registry import metrics as metric_registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricSettings:
    """How the metrics are computed (config block ``metrics``)."""

    k: int = 15
    alpha: float = 0.05
    resolutions: tuple[float, ...] = PAPER_RESOLUTIONS
    seed: int = 0
    extended: bool = False
    lisi_k: int = 90
    n_jobs: int = 1
    dtype: str = "float32"
    label_transfer_k: int = LABEL_TRANSFER_K
    label_transfer_drop_first: bool = False

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError(f"metrics.k must be at least 2, got {self.k}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"metrics.alpha must lie in (0, 1), got {self.alpha}")
        if not self.resolutions or min(self.resolutions) <= 0:
            raise ValueError("metrics.resolutions must be a non-empty list of positive numbers")
        if self.n_jobs < 1:
            raise ValueError(f"metrics.n_jobs must be at least 1, got {self.n_jobs}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"metrics.dtype must be float32 or float64, got {self.dtype!r}")
        if self.label_transfer_k < 1:
            raise ValueError(
                f"metrics.label_transfer_k must be at least 1, got {self.label_transfer_k}"
            )

    @classmethod
    def from_config(
        cls, block: Mapping[str, Any] | None, seed: int = 0, n_jobs: int | None = None
    ) -> MetricSettings:
        """Settings from the config's ``metrics`` block.

        Its ``seed`` (when not null) wins over the global ``seed``; ``n_jobs`` defaults to
        its ``threads``. Scheduler keys (``mem_mb``, ``runtime``) are ignored here.
        """
        block = dict(block or {})
        values = {name: block[name] for name in cls.__dataclass_fields__ if name in block}
        if values.get("seed") is None:
            values["seed"] = seed
        if "resolutions" in values:
            values["resolutions"] = tuple(float(r) for r in values["resolutions"])
        values["n_jobs"] = n_jobs if n_jobs is not None else int(block.get("threads", 1))
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["resolutions"] = list(self.resolutions)
        return out


@dataclass(frozen=True)
class MetricContext:
    """What a plug-in metric (``registry.metrics.Metric.function``) receives: the checked embedding,
    batch and label codes, the k-NN graph (cell itself in column 0) and the clustering kept
    by the Louvain sweep."""

    embedding: np.ndarray
    batches: np.ndarray
    labels: np.ndarray
    knn_indices: np.ndarray
    knn_distances: np.ndarray
    clusters: np.ndarray
    settings: MetricSettings


def _plugin_function(spec: str):
    module, _, name = spec.partition(":")
    if not name:
        raise InputError(f"metric function {spec!r} must be written 'module:callable'")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class MetricInputs:
    """A checked embedding with its batch and label codes."""

    embedding: np.ndarray
    batches: np.ndarray
    labels: np.ndarray


def _codes(values: Any, n_cells: int, role: str) -> np.ndarray:
    """Consecutive integer codes 0..G-1 of the groups present (unused categories dropped)."""
    series = pd.Series(np.asarray(values).ravel() if not isinstance(values, pd.Series) else values)
    if series.size != n_cells:
        raise InputError(f"{role}: {series.size} values for {n_cells} cells")
    if series.isna().any():
        raise InputError(f"{role}: {int(series.isna().sum())} missing (NaN) values")
    return pd.Categorical(series).remove_unused_categories().codes.astype(np.int64)


def prepare_inputs(embedding: Any, batches: Any, labels: Any, min_cells: int = 2) -> MetricInputs:
    """Validate an embedding with its batch and cell-type labels; raise InputError if unusable.

    The embedding must be 2-D, finite, one row per label; there must be at least two
    batches and at least ``min_cells`` cells.
    """
    n_cells = len(labels)
    emb = validate_embedding(embedding, n_cells, "embedding")
    batch_codes = _codes(batches, n_cells, "batch")
    label_codes = _codes(labels, n_cells, "cell_type")
    if np.unique(batch_codes).size < 2:
        raise InputError("only one batch: batch-mixing metrics need at least two batches")
    if n_cells < min_cells:
        raise InputError(f"{n_cells} cells: the metrics need at least {min_cells}")
    return MetricInputs(embedding=emb, batches=batch_codes, labels=label_codes)


def _from_anndata(adata: ad.AnnData, embedding_key: str) -> tuple[Any, Any, Any]:
    for key in (BATCH, LABEL):
        if key not in adata.obs.columns:
            raise InputError(f"obs[{key!r}] is missing")
    if embedding_key not in adata.obsm:
        raise InputError(f"obsm[{embedding_key!r}] is missing; obsm has {list(adata.obsm)}")
    return adata.obsm[embedding_key], adata.obs[BATCH], adata.obs[LABEL]


@contextlib.contextmanager
def limited_threads(n_jobs: int) -> Iterator[None]:
    """Cap BLAS and numba threads at ``n_jobs`` for the duration of the block."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n_jobs, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=n_jobs):
            yield
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def _timed(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    log.info("%s: %.2f s", name, seconds)
    if timings is not None:
        timings[name] = seconds


def _summary(inputs: MetricInputs, k: int, dtype: str, n_jobs: int = 1) -> PairwiseSummary:
    return pairwise_summary(
        inputs.embedding,
        inputs.labels,
        inputs.batches,
        k=k,
        dtype=np.dtype(dtype).type,
        n_jobs=n_jobs,
    )


def compute_all(
    data: ad.AnnData | np.ndarray,
    batches: Any = None,
    labels: Any = None,
    settings: MetricSettings | None = None,
    x_pre: np.ndarray | None = None,
    embedding_key: str = EMBEDDING_KEY,
    timings: dict[str, float] | None = None,
    pseudotimes: pd.DataFrame | None = None,
    downstream_metrics: bool = True,
) -> dict[str, float]:
    """Every metric of one embedding: basw, kbet, ari, nmi, casw, best_resolution, label
    transfer, BRAS, trajectory conservation (+ extended, + the plug-in metrics of the
    metric registry).

    ``data`` is an AnnData (``obsm[embedding_key]``, ``obs["batch"]``, ``obs["cell_type"]``)
    or an (n_cells, d) array with ``batches`` and ``labels``. ``x_pre`` (the unintegrated
    expression of the same cells) is needed for PCR when ``settings.extended``.
    ``pseudotimes`` (one column per lineage, true pseudotime, NaN off the lineage, rows in
    the cells' order) enables trajectory conservation (NaN without). ``downstream_metrics``
    False skips label transfer, BRAS and trajectory conservation (training curves). When
    given, ``timings`` receives the seconds of each step.
    """
    settings = settings or MetricSettings()
    if isinstance(data, ad.AnnData):
        data, batches, labels = _from_anndata(data, embedding_key)
    if batches is None or labels is None:
        raise InputError("batches and labels are required with an array embedding")
    k_pass = max(settings.k, settings.lisi_k) if settings.extended else settings.k
    inputs = prepare_inputs(data, batches, labels, min_cells=k_pass + 1)
    results: dict[str, float] = {}
    with limited_threads(settings.n_jobs):
        with _timed(timings, "pairwise pass (k-NN + silhouette sums)"):
            summary = _summary(inputs, k_pass, settings.dtype, settings.n_jobs)
        knn_idx = summary.knn_indices[:, : settings.k]
        knn_dist = summary.knn_distances[:, : settings.k]
        with _timed(timings, "basw"):
            results["basw"], _ = batch_asw_from_summary(summary, inputs.labels, inputs.batches)
        with _timed(timings, "casw"):
            results["casw"] = label_asw_from_summary(summary, inputs.labels)
        with _timed(timings, "kbet"):
            results["kbet"] = kbet_acceptance(knn_idx, inputs.batches, settings.alpha)
        with _timed(timings, "knn graph (UMAP connectivities)"):
            graph = knn_connectivities(knn_idx, knn_dist)
        with _timed(timings, "louvain sweep (nmi, ari)"):
            sweep = louvain_sweep(
                graph, inputs.labels, settings.resolutions, settings.seed, settings.n_jobs
            )
        results.update(nmi=sweep.nmi, ari=sweep.ari, best_resolution=sweep.resolution)
        if downstream_metrics:
            results.update(
                _downstream(inputs, settings, graph, knn_idx, knn_dist, pseudotimes, timings)
            )
        if settings.extended:
            with _timed(timings, "extended"):
                results.update(_extended(inputs, summary, graph, settings, x_pre))
        plugins = [
            m
            for m in metric_registry.METRICS
            if m.function and (settings.extended or not m.extended)
        ]
        if plugins:
            context = MetricContext(
                inputs.embedding,
                inputs.batches,
                inputs.labels,
                knn_idx,
                knn_dist,
                sweep.clusters,
                settings,
            )
            for metric in plugins:
                with _timed(timings, metric.name):
                    results[metric.name] = float(_plugin_function(metric.function)(context))
    return results


def _downstream(
    inputs: MetricInputs,
    settings: MetricSettings,
    graph,
    knn_idx: np.ndarray,
    knn_dist: np.ndarray,
    pseudotimes: pd.DataFrame | None,
    timings: dict[str, float] | None,
) -> dict[str, float]:
    """Label transfer, BRAS and (with true pseudotimes) trajectory conservation."""
    out: dict[str, float] = {}
    with _timed(timings, "label transfer"):
        transfer = downstream.label_transfer(
            inputs.embedding,
            inputs.batches,
            inputs.labels,
            k=settings.label_transfer_k,
            drop_first=settings.label_transfer_drop_first,
        )
    out.update(label_transfer=transfer.accuracy, label_transfer_f1=transfer.macro_f1)
    with _timed(timings, "bras"):
        out["bras"] = extended.bras(inputs.embedding, inputs.labels, inputs.batches)
    out["trajectory"] = float("nan")
    if pseudotimes is not None:
        if len(pseudotimes) != inputs.embedding.shape[0]:
            raise InputError(
                f"pseudotimes: {len(pseudotimes)} rows for {inputs.embedding.shape[0]} cells"
            )
        with _timed(timings, "trajectory conservation"):
            out["trajectory"] = downstream.trajectory_conservation(
                graph, knn_idx, knn_dist, inputs.labels, pseudotimes
            )
    return out


def _extended(
    inputs: MetricInputs,
    summary: PairwiseSummary,
    graph: sp.csr_matrix,
    settings: MetricSettings,
    x_pre,
) -> dict[str, float]:
    knn_idx, knn_dist = summary.knn_indices, summary.knn_distances
    small_idx, small_dist = knn_idx[:, : settings.k], knn_dist[:, : settings.k]
    out = {
        "ilisi": extended.ilisi(knn_idx, knn_dist, inputs.batches),
        "clisi": extended.clisi(knn_idx, knn_dist, inputs.labels),
        "graph_conn": extended.graph_connectivity(small_idx, small_dist, inputs.labels),
        "isolated_labels": extended.isolated_label_asw(
            label_silhouettes(summary, inputs.labels), inputs.labels, inputs.batches
        ),
        "cilisi": extended.cilisi(graph, inputs.labels, inputs.batches, settings.lisi_k),
    }
    split = batch_asw_split_from_summary(summary, inputs.labels, inputs.batches)
    out.update(basw_apart=split.apart, basw_overlap=split.overlap)
    if x_pre is None:
        log.warning("PCR skipped: the unintegrated data (x_pre) was not given")
        out["pcr"] = float("nan")
    else:
        out["pcr"] = extended.pcr_comparison(x_pre, inputs.embedding, inputs.batches)
    return out


def batch_asw(embedding: np.ndarray, batches: Any, labels: Any, dtype: str = "float32") -> float:
    """bASW of an embedding (scib ``silhouette_batch`` semantics)."""
    inputs = prepare_inputs(embedding, batches, labels)
    summary = _summary(inputs, 2, dtype)
    return batch_asw_from_summary(summary, inputs.labels, inputs.batches)[0]


def batch_asw_split(
    embedding: np.ndarray, batches: Any, labels: Any, dtype: str = "float32"
) -> BatchAswSplit:
    """bASW with its shortfall split by silhouette sign (batches apart vs overlapping)."""
    inputs = prepare_inputs(embedding, batches, labels)
    summary = _summary(inputs, 2, dtype)
    return batch_asw_split_from_summary(summary, inputs.labels, inputs.batches)


def _single_group_inputs(embedding: np.ndarray, values: Any, role: str, min_cells: int):
    """Embedding and codes of one label column (the other grouping set to a single group)."""
    n = len(values)
    emb = validate_embedding(embedding, n, "embedding")
    codes = _codes(values, n, role)
    if n < min_cells:
        raise InputError(f"{n} cells: the metric needs at least {min_cells}")
    return emb, codes, np.zeros(n, dtype=np.int64)


def label_asw(embedding: np.ndarray, labels: Any, dtype: str = "float32") -> float:
    """cASW of an embedding (scib ``silhouette`` semantics, rescaled to [0, 1])."""
    emb, codes, single = _single_group_inputs(embedding, labels, "cell_type", 2)
    summary = pairwise_summary(emb, codes, single, k=2, dtype=np.dtype(dtype).type)
    return label_asw_from_summary(summary, codes)


def kbet(embedding: np.ndarray, batches: Any, k: int = 15, alpha: float = 0.05) -> float:
    """kBET acceptance rate of an embedding (scETM variant, k neighbours incl. the cell)."""
    emb, codes, single = _single_group_inputs(embedding, batches, "batch", k + 1)
    if np.unique(codes).size < 2:
        raise InputError("only one batch: kBET needs at least two batches")
    summary = pairwise_summary(emb, single, codes, k=k)
    return kbet_acceptance(summary.knn_indices, codes, alpha)


def nmi_ari(
    embedding: np.ndarray,
    labels: Any,
    k: int = 15,
    resolutions: Sequence[float] = PAPER_RESOLUTIONS,
    seed: int = 0,
    n_jobs: int = 1,
) -> SweepResult:
    """Louvain sweep on the k-NN graph: best NMI, ARI at it, the resolution, all scores."""
    emb, codes, single = _single_group_inputs(embedding, labels, "cell_type", k + 1)
    summary = pairwise_summary(emb, codes, single, k=k)
    graph = knn_connectivities(summary.knn_indices, summary.knn_distances)
    return louvain_sweep(graph, codes, resolutions, seed, n_jobs)
