"""Matching the genes of new cells to a trained model's genes, by name."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

log = logging.getLogger(__name__)

SHOWN = 20  # missing genes named in an error message


def _names(genes: Sequence[str], limit: int = SHOWN) -> str:
    shown = ", ".join(map(str, genes[:limit]))
    return shown + (f", ... ({len(genes) - limit} more)" if len(genes) > limit else "")


def align_genes(
    x: np.ndarray | sp.spmatrix,
    var_names: Sequence[str],
    genes: Sequence[str],
    fill_missing: bool = False,
) -> np.ndarray | sp.csr_matrix:
    """Columns of ``x`` (cells x ``var_names``) reordered to ``genes``, matched by name.

    Genes of ``x`` that the model does not know are dropped. Model genes that ``x`` lacks
    are an error naming them, unless ``fill_missing`` is true: then they are zero
    columns (zero log-expression) and a warning says how many.
    """
    var_names = pd.Index(np.asarray(var_names, dtype=str))
    genes = np.asarray(genes, dtype=str)
    if x.shape[1] != len(var_names):
        raise ValueError(f"matrix has {x.shape[1]} columns but {len(var_names)} gene names")
    if len(var_names) == len(genes) and np.array_equal(var_names.to_numpy(), genes):
        return x
    needed = var_names.isin(genes)
    repeated = var_names[needed & var_names.duplicated(keep=False)].unique()
    if len(repeated):
        raise ValueError(f"gene names occur more than once in the data: {_names(list(repeated))}")
    within = var_names[needed].get_indexer(genes)  # position among the needed columns
    present = within >= 0
    index = np.full(len(genes), -1)
    index[present] = np.flatnonzero(needed)[within[present]]
    if not present.all():
        missing = list(genes[~present])
        message = (
            f"the data lack {len(missing)} of the model's {len(genes)} genes: {_names(missing)}"
        )
        if not fill_missing:
            raise ValueError(f"{message} (fill_missing=True fills them with zeros)")
        log.warning("%s; filled with zeros", message)
    # a 0/1 selection matrix: out[:, j] = x[:, index[j]] exactly, zeros where missing
    select = sp.csr_matrix(
        (np.ones(present.sum(), np.float32), (index[present], np.flatnonzero(present))),
        shape=(len(var_names), len(genes)),
    )
    out = x @ select
    return sp.csr_matrix(out) if sp.issparse(out) else np.asarray(out)
