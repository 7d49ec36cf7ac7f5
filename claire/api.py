"""Public API: :class:`Claire` (fit/transform) and scanpy-style :func:`integrate`.

Input is an AnnData whose ``X`` (or ``layers[layer]``) holds log-normalised HVG
expression (no scaling), as in the paper. Cell-type labels, when named, are used only
to report the share of true seeds; training never sees them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import torch

from claire import checkpoint
from claire.device import resolve_device
from claire.genes import align_genes
from claire.model import MoCo
from claire.params import ClaireParams
from claire.train import TrainResult, embed_matrix, train_claire

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
    run, see claire.schedule), and ``summary()`` the run's statistics. ``save(path)``
    keeps the trained encoder; ``Claire.load(path).transform(adata)`` embeds new cells.
    """

    def __init__(self, preset: str | None = None, **params: Any) -> None:
        self.preset = preset or "default"
        self.params = ClaireParams.from_dict({**params, "preset": self.preset})
        self.result_: TrainResult | None = None
        self.var_names_: np.ndarray | None = None
        self.network_: MoCo | None = None
        self.device_: str = self.params.device
        self.loaded_from_: str | None = None
        self.saved_by_: str | None = None

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
        self.var_names_ = adata.var_names.to_numpy().astype(str)
        self.network_, self.device_ = self.result_.model, self.result_.device
        self.loaded_from_ = self.saved_by_ = None
        return self

    def _fitted(self) -> TrainResult:
        if self.result_ is None:
            if self.network_ is not None:
                raise RuntimeError(
                    f"this Claire model was loaded from {self.loaded_from_}: it has no training "
                    "embedding or statistics; embed cells with transform(adata)"
                )
            raise RuntimeError("this Claire model is not fitted yet; call fit() first")
        return self.result_

    def _network(self) -> MoCo:
        if self.network_ is None:
            raise RuntimeError("this Claire model is not fitted yet; call fit() or Claire.load()")
        return self.network_

    @property
    def embedding_(self) -> np.ndarray:
        return self._fitted().embedding

    @property
    def snapshots_(self) -> dict[int, np.ndarray]:
        return self._fitted().snapshots

    def transform(
        self,
        adata: ad.AnnData,
        layer: str | None = None,
        fill_missing: bool = False,
        device: str | None = None,
    ) -> np.ndarray:
        """Embed (new) cells with the trained online encoder (cells x latent, float32).

        ``adata`` holds log-normalised expression preprocessed as the training data;
        its genes are matched to the model's by name (others are ignored). Model genes
        that ``adata`` lacks are an error naming them, or zero columns with
        ``fill_missing=True``. ``device`` defaults to the model's (see ``load``).
        """
        network = self._network()
        x = align_genes(_matrix(adata, layer), adata.var_names, self.var_names_, fill_missing)
        return embed_matrix(network, x, device or self.device_)

    def fit_transform(
        self,
        adata: ad.AnnData,
        batch_key: str,
        label_key: str | None = None,
        layer: str | None = None,
        progress: bool = True,
    ) -> np.ndarray:
        return self.fit(adata, batch_key, label_key, layer, progress).embedding_

    def save(self, path: str | Path) -> Path:
        """Save the trained encoder, parameters, genes and package version to ``path``."""
        return checkpoint.save(
            path, self._network(), self.params, self.preset, list(self.var_names_)
        )

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Claire:
        """A model saved by :meth:`save`, ready to ``transform`` on ``device``.

        A file from another version of claire is refused with a clear error.
        """
        saved = checkpoint.load(path)
        model = cls(preset=saved.preset, **{**saved.params.as_dict(), "device": device})
        target = resolve_device(device)
        model.network_, model.device_ = saved.build(target), str(target)
        model.var_names_ = np.asarray(saved.genes, dtype=str)
        model.loaded_from_, model.saved_by_ = str(path), saved.claire_version
        return model

    def summary(self) -> dict[str, Any]:
        """Run statistics for ``uns["claire"]``: seeds, refinement, snapshots, the epoch plan
        (``schedule``), the last epoch trained (``stopped_epoch``), device, loss. For a
        loaded model: its file, the version that saved it, parameters and genes."""
        if self.result_ is None and self.network_ is not None:
            return {
                "preset": self.preset,
                "params": self.params.as_dict(),
                "loaded_from": self.loaded_from_,
                "saved_by": self.saved_by_,
                "n_genes": len(self.var_names_),
                "device": self.device_,
                "torch_version": str(torch.__version__),
            }
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
    save_model: str | Path | None = None,
    **params: Any,
) -> ad.AnnData | None:
    """Integrate ``adata`` with CLAIRE, scanpy style (``params``: see :class:`Claire`).

    Writes ``obsm[key_added]`` (cells x 128, L2-normalised), one
    ``obsm[f"{key_added}_epoch_{e}"]`` per snapshot epoch and ``uns["claire"]``.
    With ``save_model``, the trained model is also saved there (see ``Claire.load``).
    Returns the modified copy when ``copy`` is true, else None.
    """
    adata = adata.copy() if copy else adata
    model = Claire(**params).fit(adata, batch_key, label_key, layer, progress)
    adata.obsm[key_added] = model.embedding_
    for epoch, emb in model.snapshots_.items():
        adata.obsm[f"{key_added}_epoch_{epoch}"] = emb
    adata.uns["claire"] = model.summary()
    if save_model is not None:
        model.save(save_model)
    return adata if copy else None
