"""iSMNN (Yang et al., Brief Bioinform 2021): iterative supervised MNN integration, in R.

The method lives in ``workflow/scripts/ismnn_integrate.R`` (Seurat 4.3; the authors' package
does not run on Seurat >= 4.0 unpatched, see ``../shared/specs/competitors-deep.md`` section 1;
patched, it gives the same embedding on Kang: ``docs/parity-competitors.md``). This
module picks the clusters MNNs are searched within, runs the script through the rscript
exchange (with a ``cluster`` column in ``cells.csv``) and returns its 30-d PCA with the run
statistics (rounds, anchors and F per round) as ``uns["ismnn"]``.

Two variants (``labels``):

``truth``     the true cell types (``obs["cell_type"]``) are the clusters, as the CLAIRE
              authors ran it. LABEL-INFORMED: the anchors and the stop rule use the labels.
``clusters``  label-free (a deviation from the package, which has no unsupervised mode):
              Louvain clusters of a label-free integration (Harmony by default, or the
              unintegrated PCA) of the same cells.

In both, the R script matches a cluster only when every batch holds at least ``min_cells``
of its cells (default: CLAIRE's rule, ``k_weight``, raised to what the anchor search needs);
the others are dropped with a log line.

``anchor_filter``: ``"ismnn"`` (default) reproduces the package's actual filter, which keeps
an anchor only when its batch-j cell is among the last ``k_filter`` cells of its cluster's
batch-j cells (a bug of its ``L2Norm`` copy) — the behaviour behind the CLAIRE authors'
numbers; ``"seurat"`` is the intended Seurat filter (``k_filter`` nearest cells in
L2-normalised expression of the top CCA-loading genes).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from claire.bench.contract import LABEL, AdapterResult, InputError
from claire.bench.methods import harmony, pca
from claire.bench.methods.rscript import export_inputs, read_embedding, run_rscript

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve().parents[3] / "workflow" / "scripts" / "ismnn_integrate.R"
UNS_FILE = "uns.json"
LABEL_SOURCES = ("truth", "clusters")
ANCHOR_FILTERS = ("ismnn", "seurat")
CLUSTER_EMBEDDINGS = ("harmony", "pca")


def louvain_clusters(
    rep: np.ndarray, n_neighbors: int = 15, resolution: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Louvain clusters of the exact kNN graph of ``rep``, as ``scanpy.tl.louvain`` finds them.

    scanpy's defaults: ``n_neighbors`` counts the cell itself, the graph is the union of
    the kNN edges (the non-zeros of the UMAP connectivities), used unweighted and directed,
    RBConfiguration partition seeded with ``seed``. Exact neighbours (no NN-descent), and
    no numba compilation.
    """
    import igraph as ig
    import louvain

    n = rep.shape[0]
    k = min(n_neighbors - 1, n - 1)
    neighbours = NearestNeighbors(n_neighbors=k).fit(rep).kneighbors(return_distance=False)
    edges = sp.csr_matrix(
        (np.ones(n * k), (np.repeat(np.arange(n), k), neighbours.ravel())), shape=(n, n)
    )
    sources, targets = (edges + edges.T).nonzero()
    graph = ig.Graph(
        n=n, edges=list(zip(sources.tolist(), targets.tolist(), strict=True)), directed=True
    )
    partition = louvain.find_partition(
        graph, louvain.RBConfigurationVertexPartition, seed=seed, resolution_parameter=resolution
    )
    return np.asarray(partition.membership)


def label_free_clusters(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    embedding: str = "harmony",
    resolution: float = 1.0,
    n_neighbors: int = 15,
    threads: int = 1,
) -> np.ndarray:
    """Louvain clusters (as strings ``c0``, ``c1``...) of a label-free integration.

    Never reads cell types.
    """
    if embedding == "harmony":
        rep = harmony.run(adata, batch_key, seed, ncores=threads)
    elif embedding == "pca":
        rep = pca.run(adata, batch_key, seed)
    else:
        raise InputError(f"ismnn: cluster_on must be one of {CLUSTER_EMBEDDINGS}: {embedding!r}")
    membership = louvain_clusters(np.asarray(rep), n_neighbors, resolution, seed)
    clusters = np.asarray([f"c{c}" for c in membership])
    log.info(
        "ismnn: %d Louvain clusters (resolution %g) on the %s embedding",
        len(np.unique(clusters)),
        resolution,
        embedding,
    )
    return clusters


def cluster_labels(
    adata: ad.AnnData, batch_key: str, seed: int, labels: str, **clustering: Any
) -> np.ndarray:
    """The clusters MNNs are searched within: true cell types or label-free clusters."""
    if labels == "truth":
        if LABEL not in adata.obs.columns:
            raise InputError(f"ismnn: labels='truth' needs obs[{LABEL!r}]")
        log.info("ismnn: LABEL-INFORMED variant, the true cell types are the clusters")
        return adata.obs[LABEL].astype(str).to_numpy()
    if labels == "clusters":
        return label_free_clusters(adata, batch_key, seed, **clustering)
    raise InputError(f"ismnn: labels must be one of {LABEL_SOURCES}, got {labels!r}")


def _as_array(values: Any) -> np.ndarray:
    """A JSON list as an array; R's nulls (NA) become NaN in numeric lists."""
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=str)
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def read_stats(folder: str | Path) -> dict[str, Any]:
    """The script's ``uns.json`` entry ``ismnn`` with lists as (h5ad-writable) arrays."""
    path = Path(folder) / UNS_FILE
    if not path.exists():
        raise RuntimeError(f"ismnn: {path} was not written")
    stats = json.loads(path.read_text())["ismnn"]
    return {key: _as_array(v) if isinstance(v, list) else v for key, v in stats.items()}


def _check(
    labels: str, anchor_filter: str, cluster_on: str, iterations: int, dims: int, npcs: int
) -> None:
    if labels not in LABEL_SOURCES:
        raise InputError(f"ismnn: labels must be one of {LABEL_SOURCES}, got {labels!r}")
    if anchor_filter not in ANCHOR_FILTERS:
        raise InputError(
            f"ismnn: anchor_filter must be one of {ANCHOR_FILTERS}, got {anchor_filter!r}"
        )
    if cluster_on not in CLUSTER_EMBEDDINGS:
        raise InputError(f"ismnn: cluster_on must be one of {CLUSTER_EMBEDDINGS}: {cluster_on!r}")
    if iterations < 1:
        raise InputError(f"ismnn: iterations must be >= 1, got {iterations}")
    if dims < 2 or npcs < 2:
        raise InputError(f"ismnn: dims and npcs must be >= 2, got {dims} and {npcs}")


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    labels: str = "truth",
    anchor_filter: str = "ismnn",
    iterations: int = 5,
    dims: int = 20,
    npcs: int = 30,
    k_anchor: int = 5,
    k_filter: int = 100,
    k_score: int = 100,
    k_weight: int = 100,
    sd_weight: float = 1.0,
    max_features: int = 200,
    vst_features: int = 2000,
    anchor_features: int = 2000,
    umap_dims: int = 10,
    min_cells: int | None = None,
    cluster_on: str = "harmony",
    cluster_resolution: float = 1.0,
    cluster_neighbors: int = 15,
    threads: int = 1,
    script: str | Path = SCRIPT,
    keep_exchange: str | Path | None = None,
) -> AdapterResult:
    """Run iSMNN; defaults are the CLAIRE authors' settings (dims 1:20, k 100/100/100, 5 rounds).

    ``min_cells`` None: a cluster is matched with >= ``k_weight`` cells in every batch (CLAIRE's
    rule); any value is raised to what the anchor search needs. ``keep_exchange``: a folder
    that keeps the exchange files (including ``anchors_round<r>.csv``) for inspection.
    """
    _check(labels, anchor_filter, cluster_on, iterations, dims, npcs)
    if batch_key not in adata.obs.columns:
        raise InputError(f"ismnn: obs[{batch_key!r}] is missing")
    clusters = cluster_labels(
        adata,
        batch_key,
        seed,
        labels,
        embedding=cluster_on,
        resolution=cluster_resolution,
        n_neighbors=cluster_neighbors,
        threads=threads,
    )
    params: dict[str, Any] = {
        "seed": int(seed),
        "anchor_filter": anchor_filter,
        "iterations": int(iterations),
        "dims": int(dims),
        "npcs": int(npcs),
        "k_anchor": int(k_anchor),
        "k_filter": int(k_filter),
        "k_score": int(k_score),
        "k_weight": int(k_weight),
        "sd_weight": float(sd_weight),
        "max_features": int(max_features),
        "vst_features": int(vst_features),
        "anchor_features": int(anchor_features),
        "umap_dims": int(umap_dims),
    }
    if min_cells is not None:
        params["min_cells"] = int(min_cells)
    with tempfile.TemporaryDirectory(prefix="claire-ismnn-") as tmp:
        folder = Path(keep_exchange) if keep_exchange is not None else Path(tmp)
        export_inputs(adata, folder, batch_key, params, cell_columns={"cluster": clusters})
        run_rscript(script, folder)
        embedding = read_embedding(folder, adata.n_obs)
        stats = read_stats(folder)
    stats.update(labels=labels, label_informed=labels == "truth")
    if labels == "clusters":
        stats.update(n_clusters=len(np.unique(clusters)), cluster_on=cluster_on)
    log.info(
        "ismnn: %d of %d rounds accepted, F(batch) per round %s",
        stats["rounds_accepted"],
        stats["rounds_computed"],
        np.round(stats["f_batch"], 3).tolist(),
    )
    return AdapterResult(embedding, uns={"ismnn": stats})
