"""CLAIRE in the benchmark: the adapter of the ``claire`` runner.

:func:`run` trains CLAIRE (or an ablation, ``variant``) and returns its embedding with
the epoch snapshots (``snapshot_epochs``) and the run statistics as ``uns["claire"]``
(seed counts, refinement, device, loss history). Cell types are passed to CLAIRE only to
report the share of true seeds; training never uses them.
"""

from __future__ import annotations

from typing import Any

import anndata as ad

from claire.api import Claire
from claire.bench.contract import LABEL, AdapterResult


def run(adata: ad.AnnData, batch_key: str, seed: int, **params: Any) -> AdapterResult:
    """Train CLAIRE on the log-normalised HVGs in ``X``; ``params`` are ClaireParams."""
    params = {**params, "seed": seed}
    label_key = LABEL if LABEL in adata.obs.columns else None
    model = Claire(**params).fit(adata, batch_key, label_key=label_key, progress=False)
    return AdapterResult(
        model.embedding_, snapshots=dict(model.snapshots_), uns={"claire": model.summary()}
    )
