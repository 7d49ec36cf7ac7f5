"""Score an embedding made elsewhere (runner ``precomputed``).

The registry entry (or ``method_params``) names one file per dataset::

    my_method:
      runner: precomputed
      label: My method
      params:
        files: {kang_pbmc: embeddings/kang.h5ad, sim_2batch: embeddings/sim.csv}
        key: X_emb            # obsm key of an h5ad file

Accepted files: ``.h5ad`` (cell ids = ``obs_names``, embedding = ``obsm[key]``), ``.csv`` /
``.tsv`` (first column the cell ids, then one column per dimension, with a header row),
``.npy`` (a cells x dims array) together with ``cell_ids``, a text file with one cell id
per line. The cells must be exactly those of the preprocessed dataset, in its order:
missing, extra or reordered cells stop the job with one error naming a few of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from claire.bench.contract import InputError
from claire.bench.h5ad_files import read_h5ad

SHOWN = 5  # cell ids named in an error message


def read_embedding_file(
    path: str | Path, key: str = "X_emb", cell_ids: str | Path | None = None
) -> tuple[np.ndarray, pd.Index]:
    """(embedding, cell ids) of an h5ad, csv/tsv or npy (+ cell id list) file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"precomputed embedding {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".h5ad":
        adata = read_h5ad(path)
        if key not in adata.obsm:
            raise InputError(f"{path}: no obsm[{key!r}] (has {sorted(adata.obsm)})")
        return np.asarray(adata.obsm[key]), pd.Index(adata.obs_names.astype(str))
    if suffix in (".csv", ".tsv"):
        table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", index_col=0)
        if _header_missing(table.columns):
            shown = ", ".join(map(str, [table.index.name, *table.columns[:3]]))
            raise InputError(
                f"{path}: the header row is missing (the first line holds values: {shown}, "
                "...); the first line must name the columns, e.g. cell,dim_0,dim_1,..."
            )
        try:
            values = table.to_numpy(dtype=np.float64)
        except ValueError as error:
            raise InputError(f"{path}: non-numeric embedding values ({error})") from error
        return values, pd.Index(table.index.astype(str))
    if suffix == ".npy":
        if cell_ids is None:
            raise InputError(f"{path}: a .npy embedding needs `cell_ids` (one id per line)")
        ids = Path(cell_ids).read_text().split()
        return np.load(path, allow_pickle=False), pd.Index(ids)
    raise InputError(f"{path}: unsupported embedding file type {suffix!r} (h5ad, csv, tsv, npy)")


def _header_missing(columns: pd.Index) -> bool:
    """Whether a table's column names are data: all numbers, but not the dimension numbers
    0..d-1 or 1..d that a header may hold."""
    try:
        numbers = np.array([float(c) for c in columns])
    except ValueError:
        return False
    d = len(numbers)
    dimensions = np.array_equal(numbers, np.arange(d)) or np.array_equal(
        numbers, np.arange(1, d + 1)
    )
    return not dimensions


def _cells(n: int, singular: str, plural: str) -> str:
    """ "1 cell is ..." / "3 cells are ..." """
    return f"{n} cell {singular}" if n == 1 else f"{n} cells {plural}"


def _few(ids: Sequence[str]) -> str:
    shown = ", ".join(map(str, list(ids)[:SHOWN]))
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def check_cells(found: pd.Index, expected: pd.Index, source: str) -> None:
    """Raise InputError unless ``found`` equals ``expected`` element by element."""
    if found.has_duplicates:
        raise InputError(f"{source}: duplicated cell ids: {_few(found[found.duplicated()])}")
    missing = expected.difference(found, sort=False)
    extra = found.difference(expected, sort=False)
    problems = []
    if len(missing):
        missed = _cells(len(missing), "of the dataset is missing", "of the dataset are missing")
        problems.append(f"{missed} ({_few(missing)})")
    if len(extra):
        problems.append(f"{_cells(len(extra), 'is', 'are')} not in the dataset ({_few(extra)})")
    if not problems and not found.equals(expected):
        moved = found[found != expected]
        order = _cells(len(moved), "is", "are")
        problems.append(f"{order} in another order than the dataset's ({_few(moved)})")
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))


def run(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    file: str | None = None,
    key: str = "X_emb",
    cell_ids: str | None = None,
) -> np.ndarray:
    """The embedding stored in ``file`` for the cells of ``adata`` (the workflow passes the
    dataset's entry of ``files`` as ``file``)."""
    if file is None:
        raise InputError("precomputed: no embedding file for this dataset")
    embedding, found = read_embedding_file(file, key, cell_ids)
    if embedding.ndim != 2 or embedding.shape[0] != len(found):
        raise InputError(f"{file}: {embedding.shape} embedding for {len(found)} cell ids")
    check_cells(found, pd.Index(adata.obs_names.astype(str)), str(file))
    return embedding
