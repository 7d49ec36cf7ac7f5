"""Small files in each of the paper's source formats, written the way their producers do.

Shared by tests/test_convert.py and tests/test_download.py. Counts are integers so that a
converted matrix can be compared exactly with the one that was written.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp


def random_counts(n_cells: int, n_genes: int, seed: int) -> np.ndarray:
    """Sparse-ish integer counts (cells x genes), every cell and gene non-zero."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.6, size=(n_cells, n_genes)).astype(np.float64)
    counts[np.arange(n_cells), rng.integers(0, n_genes, n_cells)] += 1
    counts[rng.integers(0, n_cells, n_genes), np.arange(n_genes)] += 1
    return counts


def write_r_table(path: Path, table: pd.DataFrame, r_style: bool = True) -> Path:
    """Write a tab-separated table like R's ``write.table`` (quoted names, no corner field).

    ``r_style=False`` writes pandas' layout instead: a header with a leading corner field
    and unquoted names. A ``.gz`` suffix gzips the file.
    """
    lines = []
    names = [str(c) for c in table.columns]
    if r_style:
        lines.append("\t".join(f'"{c}"' for c in names))
    else:
        lines.append("\t".join(["gene", *names]))
    for index, row in zip(table.index, table.itertuples(index=False), strict=True):
        fields = [_format(v, quote=r_style) for v in row]
        label = f'"{index}"' if r_style else str(index)
        lines.append("\t".join([label, *fields]))
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _format(value, quote: bool) -> str:
    if isinstance(value, str):
        return f'"{value}"' if quote else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def gene_by_cell(counts: np.ndarray, cells, genes) -> pd.DataFrame:
    """The gene x cell table of a cells x genes count matrix."""
    return pd.DataFrame(counts.T, index=list(genes), columns=list(cells))


def write_tran_table(
    folder: Path,
    counts: np.ndarray,
    cells: list[str],
    genes: list[str],
    meta: pd.DataFrame,
    r_style: bool = True,
    suffix: str = ".txt.gz",
) -> dict[str, Path]:
    """Tran dataset2/dataset4 layout: one expression table and one metadata table."""
    folder.mkdir(parents=True, exist_ok=True)
    exprs = write_r_table(folder / f"exprs{suffix}", gene_by_cell(counts, cells, genes), r_style)
    meta_path = write_r_table(folder / f"meta{suffix}", meta, r_style)
    return {"exprs": exprs, "meta": meta_path}


def write_tran_batches(
    folder: Path, batches: dict[str, tuple[np.ndarray, list[str], list[str], list[str]]]
) -> dict[str, Path]:
    """Tran dataset5 layout: ``<b>_exprs.txt.gz`` and ``<b>_celltype.txt.gz`` per batch."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for batch, (counts, cells, genes, types) in batches.items():
        table = gene_by_cell(counts, cells, genes)
        files[f"{batch}_exprs"] = write_r_table(folder / f"{batch}_exprs.txt.gz", table)
        celltype = pd.DataFrame({"CellType": types}, index=cells)
        files[f"{batch}_celltype"] = write_r_table(folder / f"{batch}_celltype.txt.gz", celltype)
    return files


def write_counts_layer_h5ad(path: Path, counts: np.ndarray, obs: pd.DataFrame) -> Path:
    """scIB / GLOBE layout: log-normalised ``X`` and raw counts in ``layers['counts']``."""
    csr = sp.csr_matrix(counts.astype(np.float32))
    norm = csr.multiply(1e4 / csr.sum(axis=1)).tocsr()
    norm.data = np.log1p(norm.data)
    adata = ad.AnnData(
        X=norm.astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=[f"gene{i}" for i in range(counts.shape[1])]),
        layers={"counts": csr},
    )
    adata.obsm["X_pca"] = np.zeros((adata.n_obs, 2), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(path)
    return path
