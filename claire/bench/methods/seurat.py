"""Seurat v4 CCA integration (Stuart et al. 2019), run in R through the rscript exchange.

The workflow runs ``workflow/scripts/seurat_integrate.R`` through the generic R runner
(:mod:`claire.bench.methods.rscript`, registry entry ``seurat``). :func:`run` is the same
method as a Python call, with Seurat's parameters checked by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np

from claire.bench.contract import InputError
from claire.bench.methods.rscript import run_r_method

SCRIPT = Path(__file__).resolve().parents[3] / "workflow" / "scripts" / "seurat_integrate.R"
# Names the R script accepts; their defaults live in the script (DEFAULTS there).
PARAMETERS = ("dims", "npcs", "k_anchor", "k_filter", "k_score", "k_weight")


def run(adata: ad.AnnData, batch_key: str, seed: int, **params: Any) -> np.ndarray:
    """Seurat v4 CCA integration with the vignette's settings (the R script's defaults).

    ``script`` may point to another copy of ``seurat_integrate.R``.
    """
    script = params.pop("script", SCRIPT)
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise InputError(f"seurat: unknown parameters {sorted(unknown)}; known: {list(PARAMETERS)}")
    return run_r_method(adata, batch_key, seed, script, **params)
