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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anndata as ad
import numba
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from claire.bench.contract import BATCH, EMBEDDING_KEY, LABEL, InputError, validate_embedding
from claire.bench.metrics.clustering import PAPER_RESOLUTIONS, SweepResult, louvain_sweep
from claire.bench.metrics.context import MetricContext, timed
from claire.bench.metrics.downstream import LABEL_TRANSFER_K
from claire.bench.metrics.kbet import kbet_acceptance
from claire.bench.metrics.knn_graph import knn_connectivities
from claire.bench.metrics.pairwise import PairwiseSummary, pairwise_summary
from claire.bench.metrics.silhouette import (
    BatchAswSplit,
    batch_asw_from_summary,
    batch_asw_split_from_summary,
    label_asw_from_summary,
)
from claire.bench.registry.metrics import metric_registry

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


def _metric_function(spec: str) -> Callable[[MetricContext], float]:
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
    """Every metric of the metric registry for one embedding (the extended ones when
    ``settings.extended``), in registry order, plus ``best_resolution`` after NMI.

    ``data`` is an AnnData (``obsm[embedding_key]``, ``obs["batch"]``, ``obs["cell_type"]``)
    or an (n_cells, d) array with ``batches`` and ``labels``. ``x_pre`` (the unintegrated
    expression of the same cells) is needed for PCR when ``settings.extended``.
    ``pseudotimes`` (one column per lineage, true pseudotime, NaN off the lineage, rows in
    the cells' order) enables trajectory conservation (NaN without). ``downstream_metrics``
    False skips the downstream analyses (label transfer, BRAS, trajectory conservation:
    training curves). When given, ``timings`` receives the seconds of each step.
    """
    settings = settings or MetricSettings()
    if isinstance(data, ad.AnnData):
        data, batches, labels = _from_anndata(data, embedding_key)
    if batches is None or labels is None:
        raise InputError("batches and labels are required with an array embedding")
    k_pass = max(settings.k, settings.lisi_k) if settings.extended else settings.k
    inputs = prepare_inputs(data, batches, labels, min_cells=k_pass + 1)
    if pseudotimes is not None and len(pseudotimes) != inputs.embedding.shape[0]:
        raise InputError(
            f"pseudotimes: {len(pseudotimes)} rows for {inputs.embedding.shape[0]} cells"
        )
    selected = [
        m
        for m in metric_registry().metrics
        if (settings.extended or not m.extended) and (downstream_metrics or not m.downstream)
    ]
    results: dict[str, float] = {}
    with limited_threads(settings.n_jobs):
        with timed(timings, "pairwise pass (k-NN + silhouette sums)"):
            summary = _summary(inputs, k_pass, settings.dtype, settings.n_jobs)
        context = MetricContext(
            inputs.embedding,
            inputs.batches,
            inputs.labels,
            summary,
            settings,
            x_pre=x_pre,
            pseudotimes=pseudotimes,
            timings=timings,
        )
        for metric in selected:
            with timed(timings, metric.name):
                results[metric.name] = float(_metric_function(metric.function)(context))
            if metric.name == "nmi":
                results["best_resolution"] = context.sweep.resolution
    return results


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
