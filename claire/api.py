"""Public API: :class:`Claire` (fit/transform) and scanpy-style :func:`integrate`.

Input is an AnnData whose ``X`` (or ``layers[layer]``) holds log-normalised HVG
expression (no scaling), as in the paper. Cell-type labels, when named, are used only
to report the share of true seeds; training never sees them.
"""

from __future__ import annotations

import logging
from typing import Any

import anndata as ad
import numpy as np
import torch

from claire.params import ClaireParams
from claire.train import TrainResult, train_claire

log = logging.getLogger(__name__)


def _matrix(adata: ad.AnnData, layer: str | None) -> Any:
    if layer is None:
        return adata.X
    if layer not in adata.layers:
        raise KeyError(f"layer {layer!r} not in adata.layers ({list(adata.layers)})")
    return adata.layers[layer]


def _obs_column(adata: ad.AnnData, key: str, role: str) -> np.ndarray:
    if key not in adata.obs:
        raise KeyError(f"{role} key {key!r} not in adata.obs ({list(adata.obs.columns)})")
    return adata.obs[key].to_numpy()


class Claire:
    """CLAIRE model: ``Claire(**params).fit(adata, batch_key)`` then ``transform``.

    ``params`` are the fields of :class:`claire.params.ClaireParams` (paper defaults);
    ``preset`` (``"default"``, ``"paper"`` or ``"reference"``, see claire.params) is the
    starting point they override. After fitting, ``embedding_`` holds the training cells'
    embedding, ``snapshots_`` the embeddings at the snapshot epochs (keys: epochs of the
    run, see claire.schedule), and ``summary()`` the run's statistics.
    """

    def __init__(self, preset: str | None = None, **params: Any) -> None:
        self.preset = preset or "default"
        self.params = ClaireParams.from_dict({**params, "preset": self.preset})
        self.result_: TrainResult | None = None
        self.var_names_: np.ndarray | None = None

    def fit(
        self,
        adata: ad.AnnData,
        batch_key: str,
        label_key: str | None = None,
        layer: str | None = None,
        progress: bool = True,
    ) -> Claire:
        """Find seeds and KNN, then train; ``label_key`` only feeds the seed statistics."""
        batch = _obs_column(adata, batch_key, "batch")
        labels = None if label_key is None else _obs_column(adata, label_key, "label")
        self.result_ = train_claire(_matrix(adata, layer), batch, self.params, labels, progress)
        self.var_names_ = adata.var_names.to_numpy()
        return self

    def _fitted(self) -> TrainResult:
        if self.result_ is None:
            raise RuntimeError("this Claire model is not fitted yet; call fit() first")
        return self.result_

    @property
    def embedding_(self) -> np.ndarray:
        return self._fitted().embedding

    @property
    def snapshots_(self) -> dict[int, np.ndarray]:
        return self._fitted().snapshots

    def transform(self, adata: ad.AnnData, layer: str | None = None) -> np.ndarray:
        """Embed (new) cells with the trained online encoder; genes must match training."""
        result = self._fitted()
        if not np.array_equal(adata.var_names.to_numpy(), self.var_names_):
            raise ValueError("adata's genes (var_names, in order) differ from the training genes")
        return result.embed(_matrix(adata, layer))

    def fit_transform(
        self,
        adata: ad.AnnData,
        batch_key: str,
        label_key: str | None = None,
        layer: str | None = None,
        progress: bool = True,
    ) -> np.ndarray:
        return self.fit(adata, batch_key, label_key, layer, progress).embedding_

    def summary(self) -> dict[str, Any]:
        """Run statistics for ``uns["claire"]``: seeds, refinement, snapshots, the epoch plan
        (``schedule``), the last epoch trained (``stopped_epoch``), device, loss."""
        result = self._fitted()
        return {
            "preset": self.preset,
            "params": self.params.as_dict(),
            "n_seeds": result.n_seeds,
            "refinement": result.refinement,
            "snapshot_epochs": sorted(result.snapshots),
            "schedule": result.schedule,
            "stopped_epoch": result.stopped_epoch,
            "early_stopped": result.early_stopped,
            "device": result.device,
            "torch_version": str(torch.__version__),
            "history": {
                key: [row[key] for row in result.history]
                for key in ("epoch", "loss", "lr", "steps", "seconds")
            },
            "timings": dict(result.timings),
        }


def integrate(
    adata: ad.AnnData,
    batch_key: str,
    key_added: str = "X_claire",
    label_key: str | None = None,
    layer: str | None = None,
    copy: bool = False,
    progress: bool = True,
    **params: Any,
) -> ad.AnnData | None:
    """Integrate ``adata`` with CLAIRE, scanpy style (``params``: see :class:`Claire`).

    Writes ``obsm[key_added]`` (cells x 128, L2-normalised), one
    ``obsm[f"{key_added}_epoch_{e}"]`` per snapshot epoch and ``uns["claire"]``.
    Returns the modified copy when ``copy`` is true, else None.
    """
    adata = adata.copy() if copy else adata
    model = Claire(**params).fit(adata, batch_key, label_key, layer, progress)
    adata.obsm[key_added] = model.embedding_
    for epoch, emb in model.snapshots_.items():
        adata.obsm[f"{key_added}_epoch_{epoch}"] = emb
    adata.uns["claire"] = model.summary()
    return adata if copy else None
