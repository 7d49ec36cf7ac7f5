"""Converters from the paper's source formats: cell counts, labels, untouched values."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers.sources import (
    random_counts,
    write_counts_layer_h5ad,
    write_r_table,
    write_tran_batches,
    write_tran_table,
)

from claire.bench.contract import InputError, to_standard_raw
from claire.bench.convert import (
    FORMATS,
    convert_source,
    read_cell_table,
    read_gene_by_cell_table,
)

ROOT = Path(__file__).resolve().parents[1]
KANG = ROOT / ".." / "shared" / "data" / "kang_pbmc_4samples.h5ad"


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


@pytest.fixture
def mca_like(tmp_path):
    """MCA-style tables: the expression table has two extra cells without metadata and the
    metadata lists cells in another order (as dataset2's R scripts subset by metadata)."""
    n_cells, n_genes = 30, 12
    counts = random_counts(n_cells, n_genes, seed=1)
    cells = [f"Bladder_1.{i}" for i in range(n_cells)]
    genes = [f"Gene-{i}" for i in range(n_genes)]
    kept = list(reversed(cells[2:]))
    meta = pd.DataFrame(
        {
            "sample": [f"s{i % 3}" for i in range(len(kept))],
            "organ": ["Bladder"] * len(kept),
            "ct": [f"type{i % 4}" for i in range(len(kept))],
            "batch": [1 + i % 2 for i in range(len(kept))],
            "batchlb": [f"Batch{1 + i % 2}" for i in range(len(kept))],
        },
        index=kept,
    )
    return counts, cells, genes, meta, tmp_path


@pytest.mark.parametrize("r_style,suffix", [(True, ".txt.gz"), (False, ".txt")])
def test_tran_table_keeps_metadata_cells_labels_and_values(mca_like, r_style, suffix):
    counts, cells, genes, meta, folder = mca_like
    files = write_tran_table(folder, counts, cells, genes, meta, r_style=r_style, suffix=suffix)

    adata = convert_source("tran_table", files)

    assert adata.shape == (len(meta), len(genes))
    assert list(adata.obs_names) == list(meta.index)
    assert list(adata.var_names) == genes
    assert sp.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    rows = [cells.index(c) for c in meta.index]
    np.testing.assert_array_equal(_dense(adata.X), counts[rows])
    assert list(adata.obs.columns) == list(meta.columns)
    assert list(adata.obs["ct"].astype(str)) == list(meta["ct"])
    assert list(adata.obs["batch"]) == list(meta["batch"])  # numeric column stays numeric
    assert adata.obs["batchlb"].dtype == "category"


def test_tran_table_then_contract_gives_standard_columns(mca_like):
    counts, cells, genes, meta, folder = mca_like
    adata = convert_source("tran_table", write_tran_table(folder, counts, cells, genes, meta))

    raw = to_standard_raw(adata, batch_key="batchlb", label_key="ct")

    assert list(raw.obs["batch"].astype(str)) == list(meta["batchlb"])
    assert list(raw.obs["cell_type"].astype(str)) == list(meta["ct"])
    assert raw.X.sum() == pytest.approx(adata.X.sum())


def test_tran_table_rejects_metadata_cells_missing_from_expression(mca_like):
    counts, cells, genes, meta, folder = mca_like
    meta = pd.concat([meta, meta.iloc[:1].rename(index=lambda _: "ghost_cell")])
    files = write_tran_table(folder, counts, cells, genes, meta)
    with pytest.raises(InputError, match="1 cell of the metadata is not in the expression"):
        convert_source("tran_table", files)


def test_gene_table_is_read_in_chunks_without_changing_values(tmp_path):
    counts = random_counts(25, 37, seed=2)
    cells = [f"c{i}" for i in range(25)]
    genes = [f"g{i}" for i in range(37)]
    path = write_r_table(tmp_path / "x.txt.gz", pd.DataFrame(counts.T, index=genes, columns=cells))

    matrix, got_cells, got_genes = read_gene_by_cell_table(path, chunk_genes=5)

    assert list(got_cells) == cells and list(got_genes) == genes
    np.testing.assert_array_equal(matrix.toarray(), counts)


def test_gene_table_rejects_text_and_missing_values(tmp_path):
    table = pd.DataFrame({"c1": [1, 2], "c2": [3, 4]}, index=["g1", "g2"]).astype(object)
    table.loc["g2", "c2"] = "abc"
    with pytest.raises(InputError, match="non-numeric"):
        read_gene_by_cell_table(write_r_table(tmp_path / "bad.txt", table))
    table.loc["g2", "c2"] = "NA"
    with pytest.raises(InputError, match="missing"):
        read_gene_by_cell_table(write_r_table(tmp_path / "na.txt", table, r_style=False))


def test_cell_table_rejects_duplicate_cells(tmp_path):
    meta = pd.DataFrame({"ct": ["a", "b"]}, index=["c1", "c1"])
    with pytest.raises(InputError, match="duplicated cell names"):
        read_cell_table(write_r_table(tmp_path / "m.txt", meta))


def _pbmc_like(seed: int, shared_names: bool):
    genes = [f"G{i}" for i in range(15)]
    batches = {}
    for k, n in ((1, 20), (2, 14)):
        counts = random_counts(n, len(genes), seed=seed + k)
        cells = [f"AAAC{i}-1" if shared_names else f"b{k}_cell{i}" for i in range(n)]
        types = [["B cell", "CD4 T cell", "Monocyte_CD14"][i % 3] for i in range(n)]
        batches[f"b{k}"] = (counts, cells, genes, types)
    return batches


@pytest.mark.parametrize("shared_names", [False, True])
def test_tran_batches_counts_labels_and_batch_column(tmp_path, shared_names):
    batches = _pbmc_like(seed=3, shared_names=shared_names)
    # the second batch lists its genes in another order: it is aligned on the first
    counts2, cells2, genes2, types2 = batches["b2"]
    order = np.arange(len(genes2))[::-1]
    batches["b2"] = (counts2[:, order], cells2, [genes2[i] for i in order], types2)
    files = write_tran_batches(tmp_path, batches)

    adata = convert_source("tran_batches", files)

    assert adata.n_obs == 20 + 14
    assert list(adata.var_names) == batches["b1"][2]
    np.testing.assert_array_equal(_dense(adata.X[:20]), batches["b1"][0])
    np.testing.assert_array_equal(_dense(adata.X[20:]), counts2)
    assert list(adata.obs["batchlb"]) == ["b1"] * 20 + ["b2"] * 14
    assert list(adata.obs["CellType"].astype(str)) == batches["b1"][3] + types2
    assert adata.obs_names.is_unique
    if shared_names:
        assert adata.obs_names[20] == "b2_AAAC0-1"
    raw = to_standard_raw(adata, batch_key="batchlb", label_key="CellType")
    assert raw.obs["batch"].nunique() == 2


def test_tran_batches_rejects_gene_mismatch_and_incomplete_roles(tmp_path):
    batches = _pbmc_like(seed=4, shared_names=False)
    counts2, cells2, genes2, types2 = batches["b2"]
    batches["b2"] = (counts2, cells2, [*genes2[:-1], "OTHER"], types2)
    files = write_tran_batches(tmp_path, batches)
    with pytest.raises(InputError, match="different gene set"):
        convert_source("tran_batches", files)
    del files["b2_celltype"]
    with pytest.raises(InputError, match="need both _exprs and _celltype"):
        convert_source("tran_batches", files)


def test_h5ad_keeps_counts_layer_and_obs_untouched(tmp_path):
    counts = random_counts(40, 20, seed=5)
    obs = pd.DataFrame(
        {
            "batch": [f"donor{i % 4}" for i in range(40)],
            "final_annotation": [f"type{i % 5}" for i in range(40)],
            "dpt_pseudotime": np.linspace(0, 1, 40),
        },
        index=[f"cell{i}" for i in range(40)],
    )
    path = write_counts_layer_h5ad(tmp_path / "Immune_ALL_human.h5ad", counts, obs)
    source = ad.read_h5ad(path)

    adata = convert_source("h5ad", {"anndata": path})

    np.testing.assert_array_equal(_dense(adata.layers["counts"]), counts)
    np.testing.assert_array_equal(_dense(adata.X), _dense(source.X))
    pd.testing.assert_frame_equal(adata.obs, source.obs)
    assert "X_pca" not in adata.obsm
    raw = to_standard_raw(adata, "batch", "final_annotation", counts_layer="counts")
    np.testing.assert_array_equal(raw.X.toarray(), counts)
    assert list(raw.obs["cell_type"].astype(str)) == list(obs["final_annotation"])


def test_convert_source_errors_are_clear(tmp_path):
    with pytest.raises(InputError, match="unknown source format 'rds'"):
        convert_source("rds", {})
    with pytest.raises(InputError, match="source files not found"):
        convert_source("h5ad", {"anndata": tmp_path / "absent.h5ad"})
    with pytest.raises(InputError, match="missing file roles"):
        convert_source(
            "tran_table", {"exprs": write_r_table(tmp_path / "e.txt", pd.DataFrame({"c": [1]}))}
        )
    assert set(FORMATS) == {"tran_table", "tran_batches", "h5ad"}


@pytest.mark.skipif(not KANG.exists(), reason="shared real data not available")
def test_real_counts_survive_a_tran_table_round_trip(tmp_path):
    real = ad.read_h5ad(KANG)
    counts = real.X.toarray()
    meta = real.obs[["sample_id", "cluster_id"]].astype(str)
    files = write_tran_table(tmp_path, counts, list(real.obs_names), list(real.var_names), meta)

    adata = convert_source("tran_table", files)

    assert adata.shape == real.shape
    assert (adata.X != real.X).nnz == 0
    assert list(adata.obs["cluster_id"].astype(str)) == list(meta["cluster_id"])
    raw = to_standard_raw(adata, "sample_id", "cluster_id")
    assert raw.obs["batch"].nunique() == 4 and raw.obs["cell_type"].nunique() == 5
