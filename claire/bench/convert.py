"""Convert the paper's source formats to one AnnData: counts plus the original obs columns.

:func:`convert_source` is the single entry point (``claire.bench.datasets`` calls it for
``source: {type: download}`` datasets); :func:`claire.bench.contract.to_standard_raw`
then picks the batch and label columns. Values are never changed: what the files hold
is what ``X`` (or the h5ad's layers) holds, as float32.

Formats:

``tran_table``
    Tran et al. (2020) benchmark tables: a tab-separated gene x cell expression table
    (role ``exprs``; first column gene names, header cell names, gzip allowed) and a
    cell metadata table (role ``meta``; first column cell names). Cells are those of
    the metadata, in its order, as in the benchmark's R scripts
    (``expr_mat[, rownames(metadata)]``). Used for MCA (dataset2) and Pancreas (dataset4).
``tran_batches``
    One expression and one cell-type table per batch (roles ``<batch>_exprs`` and
    ``<batch>_celltype``, e.g. ``b1_exprs``/``b1_celltype``). The batch prefix becomes
    ``obs["batchlb"]``. Used for PBMC (dataset5).
``h5ad``
    An AnnData file (role ``anndata``) kept as it is (``X``, ``layers``, ``obs``, ``var``); scIB's
    Immune/Lung files and GLOBE's Muris file keep their raw counts in
    ``layers["counts"]``, so their datasets set ``counts_layer: counts``.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from claire.bench.contract import InputError

log = logging.getLogger(__name__)

BATCH_FILE_COLUMN = "batchlb"
GENE_CHUNK = 1000
_BATCH_ROLE = re.compile(r"^(?P<batch>.+)_(?P<kind>exprs|celltype)$")


def convert_source(fmt: str, files: Mapping[str, str | os.PathLike]) -> ad.AnnData:
    """Read the files of one dataset (by role) in source format ``fmt``."""
    try:
        converter = FORMATS[fmt]
    except KeyError:
        raise InputError(f"unknown source format {fmt!r}; known: {sorted(FORMATS)}") from None
    paths = {role: Path(path) for role, path in files.items()}
    missing = [f"{role}: {path}" for role, path in paths.items() if not path.is_file()]
    if missing:
        raise InputError(f"{fmt}: source files not found: {'; '.join(missing)}")
    adata = converter(paths)
    log.info("%s: %d cells x %d genes", fmt, adata.n_obs, adata.n_vars)
    return adata


def convert_tran_table(files: Mapping[str, Path]) -> ad.AnnData:
    """Gene x cell table (``exprs``) plus cell metadata (``meta``); see module docs."""
    _require_roles("tran_table", files, ("exprs", "meta"))
    counts, cells, genes = read_gene_by_cell_table(files["exprs"])
    meta = read_cell_table(files["meta"])
    rows = _align_cells(cells, meta.index, files["exprs"].name)
    return ad.AnnData(X=counts[rows], obs=meta, var=pd.DataFrame(index=genes))


def convert_tran_batches(files: Mapping[str, Path]) -> ad.AnnData:
    """Per-batch expression and cell-type tables; see module docs."""
    batches = _batch_roles(files)
    parts: list[ad.AnnData] = []
    for batch, (exprs, celltype) in batches.items():
        counts, cells, genes = read_gene_by_cell_table(exprs)
        meta = read_cell_table(celltype)
        rows = _align_cells(cells, meta.index, exprs.name)
        meta[BATCH_FILE_COLUMN] = batch
        parts.append(ad.AnnData(X=counts[rows], obs=meta, var=pd.DataFrame(index=genes)))
    reference = parts[0].var_names
    for batch, part in zip(batches, parts, strict=True):
        if set(part.var_names) != set(reference):
            raise InputError(
                f"tran_batches: batch {batch!r} has a different gene set than "
                f"{next(iter(batches))!r} ({part.n_vars} vs {len(reference)} genes)"
            )
    parts = [part if part.var_names.equals(reference) else part[:, reference] for part in parts]
    names = np.concatenate([part.obs_names.to_numpy() for part in parts])
    if pd.Index(names).has_duplicates:
        log.info("tran_batches: cell names repeat across batches; prefixing them with the batch")
        for batch, part in zip(batches, parts, strict=True):
            part.obs_names = [f"{batch}_{name}" for name in part.obs_names]
    obs = pd.concat([part.obs for part in parts])
    for column in obs.select_dtypes(include=["object", "string"]).columns:
        obs[column] = obs[column].astype("category")
    obs[BATCH_FILE_COLUMN] = pd.Categorical(obs[BATCH_FILE_COLUMN], categories=list(batches))
    matrix = sp.vstack([sp.csr_matrix(part.X) for part in parts], format="csr")
    return ad.AnnData(X=matrix, obs=obs, var=pd.DataFrame(index=reference))


def convert_h5ad(files: Mapping[str, Path]) -> ad.AnnData:
    """An h5ad file with its matrices and obs/var untouched (embeddings and uns dropped)."""
    _require_roles("h5ad", files, ("anndata",))
    source = ad.read_h5ad(files["anndata"])
    return ad.AnnData(
        X=source.X,
        obs=source.obs,
        var=source.var,
        layers={name: source.layers[name] for name in source.layers},
    )


FORMATS: dict[str, Callable[[Mapping[str, Path]], ad.AnnData]] = {
    "tran_table": convert_tran_table,
    "tran_batches": convert_tran_batches,
    "h5ad": convert_h5ad,
}


def read_gene_by_cell_table(
    path: str | os.PathLike, chunk_genes: int = GENE_CHUNK
) -> tuple[sp.csr_matrix, pd.Index, pd.Index]:
    """Read a tab-separated gene x cell table into a cells x genes CSR float32 matrix.

    The header holds the cell names, with or without a leading field for the gene
    column (R's ``write.table`` omits it); quoted names are unquoted. The table is read
    ``chunk_genes`` rows at a time, so the dense table is never held in memory.
    """
    path = Path(path)
    header, n_fields = _sniff_table(path)
    cells = _data_column_names(header, n_fields, path)
    blocks: list[sp.csr_matrix] = []
    genes: list[str] = []
    reader = pd.read_csv(
        path,
        sep="\t",
        header=None,
        skiprows=1,
        index_col=0,
        chunksize=chunk_genes,
        compression=_compression(path),
        low_memory=False,
    )
    with reader:
        for chunk in reader:
            if chunk.shape[1] != len(cells):
                raise InputError(
                    f"{path.name}: a row has {chunk.shape[1] + 1} fields, expected {n_fields}"
                )
            try:
                values = chunk.to_numpy(dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise InputError(f"{path.name}: non-numeric expression value ({exc})") from None
            if np.isnan(values).any():
                raise InputError(f"{path.name}: missing (NA) expression values")
            blocks.append(sp.csr_matrix(values))
            genes.extend(chunk.index.astype(str))
            if len(blocks) % 10 == 0:
                log.info("%s: read %d genes", path.name, len(genes))
    if not blocks:
        raise InputError(f"{path.name}: no gene rows")
    counts = sp.vstack(blocks, format="csr").T.tocsr()
    return counts, pd.Index(cells), pd.Index(genes)


def read_cell_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tab-separated per-cell metadata table indexed by cell name.

    Numeric columns stay numeric, text columns become categorical, ``NA`` becomes NaN.
    """
    path = Path(path)
    header, n_fields = _sniff_table(path)
    columns = _data_column_names(header, n_fields, path)
    table = pd.read_csv(
        path,
        sep="\t",
        header=None,
        skiprows=1,
        index_col=0,
        dtype=str,
        compression=_compression(path),
    )
    if table.shape[1] != len(columns):
        raise InputError(f"{path.name}: {table.shape[1]} data columns, header names {len(columns)}")
    table.columns = columns
    table.index = table.index.astype(str)
    table.index.name = None
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()][:3].tolist()
        raise InputError(f"{path.name}: duplicated cell names, e.g. {dup}")
    for column in table.columns:
        numeric = pd.to_numeric(table[column], errors="coerce")
        if numeric.notna().sum() == table[column].notna().sum():
            table[column] = numeric
        else:
            table[column] = table[column].astype("category")
    return table


def _align_cells(cells: pd.Index, wanted: pd.Index, name: str) -> np.ndarray:
    """Row positions of ``wanted`` cells in the expression table ``cells``."""
    if cells.has_duplicates:
        raise InputError(f"{name}: duplicated cell names in the header")
    rows = cells.get_indexer(wanted)
    absent = wanted[rows < 0]
    if len(absent):
        cells_are = (
            "1 cell of the metadata is"
            if len(absent) == 1
            else (f"{len(absent)} cells of the metadata are")
        )
        raise InputError(
            f"{name}: {cells_are} not in the expression table, e.g. {absent[:3].tolist()}"
        )
    if len(wanted) < len(cells):
        log.info("%s: keeping the %d of %d cells that have metadata", name, len(wanted), len(cells))
    return rows


def _batch_roles(files: Mapping[str, Path]) -> dict[str, tuple[Path, Path]]:
    found: dict[str, dict[str, Path]] = {}
    for role, path in files.items():
        match = _BATCH_ROLE.match(role)
        if match is None:
            raise InputError(
                f"tran_batches: role {role!r} is not '<batch>_exprs' or '<batch>_celltype'"
            )
        found.setdefault(match["batch"], {})[match["kind"]] = path
    if not found:
        raise InputError("tran_batches: no files given")
    incomplete = [batch for batch, kinds in found.items() if len(kinds) != 2]
    if incomplete:
        raise InputError(f"tran_batches: batches {incomplete} need both _exprs and _celltype files")
    return {batch: (kinds["exprs"], kinds["celltype"]) for batch, kinds in found.items()}


def _require_roles(fmt: str, files: Mapping[str, Path], roles: tuple[str, ...]) -> None:
    missing = [role for role in roles if role not in files]
    if missing:
        raise InputError(f"{fmt}: missing file roles {missing}; given {sorted(files)}")


def _compression(path: Path) -> str | None:
    with open(path, "rb") as fh:
        return "gzip" if fh.read(2) == b"\x1f\x8b" else None


def _sniff_table(path: Path) -> tuple[list[str], int]:
    """Header fields (unquoted) and the field count of the first data row."""
    opener = gzip.open if _compression(path) == "gzip" else open
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        rows = csv.reader(text, delimiter="\t", quotechar='"')
        header = next(rows, None)
        first = next(rows, None)
    if not header or first is None:
        raise InputError(f"{path.name}: needs a header line and at least one data line")
    return header, len(first)


def _data_column_names(header: list[str], n_fields: int, path: Path) -> list[str]:
    """Names of the data columns; R tables omit the header field of the row names."""
    if n_fields == len(header) + 1:
        return header
    if n_fields == len(header):
        return header[1:]
    raise InputError(f"{path.name}: header has {len(header)} fields but rows have {n_fields}")
