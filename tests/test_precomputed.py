"""Scoring an embedding made elsewhere (runner precomputed): file formats, the cell-id
check, and one end-to-end workflow run where it is scored beside a built-in method."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers.workflow import integration_path, run_snakemake, tiny_dataset

from claire.bench.contract import InputError
from claire.bench.methods import precomputed


def _cells(n: int) -> pd.Index:
    return pd.Index([f"c{i}" for i in range(n)])


@pytest.fixture
def target() -> ad.AnnData:
    return ad.AnnData(np.zeros((6, 2), np.float32), obs=pd.DataFrame(index=_cells(6)))


@pytest.mark.parametrize("kind", ["h5ad", "csv", "tsv", "npy"])
def test_each_file_type_gives_the_embedding_in_the_dataset_order(kind, tmp_path, target):
    emb = np.arange(12, dtype=float).reshape(6, 2)
    cells = _cells(6)
    path = tmp_path / f"emb.{kind}"
    extra = {}
    if kind == "h5ad":
        ad.AnnData(obs=pd.DataFrame(index=cells), obsm={"X_mine": emb}).write_h5ad(path)
        extra = {"key": "X_mine"}
    elif kind in ("csv", "tsv"):
        pd.DataFrame(emb, index=cells).to_csv(path, sep="," if kind == "csv" else "\t")
    else:
        np.save(path, emb)
        (tmp_path / "cells.txt").write_text("\n".join(cells))
        extra = {"cell_ids": str(tmp_path / "cells.txt")}
    out = precomputed.run(target, "batch", 0, file=str(path), **extra)
    np.testing.assert_allclose(out, emb)


def test_missing_extra_and_reordered_cells_are_named(target):
    expected = _cells(6)
    with pytest.raises(InputError, match=r"1 cell of the dataset is missing \(c5\)"):
        precomputed.check_cells(expected[:5], expected, "f")
    with pytest.raises(InputError, match=r"1 cell is not in the dataset \(x\)"):
        precomputed.check_cells(expected.append(pd.Index(["x"])), expected, "f")
    swapped = pd.Index(["c1", "c0", "c2", "c3", "c4", "c5"])
    with pytest.raises(InputError, match=r"2 cells are in another order.*\(c1, c0\)"):
        precomputed.check_cells(swapped, expected, "f")
    many = pd.Index([f"x{i}" for i in range(20)])
    with pytest.raises(InputError, match=r"x0, x1, x2, x3, x4 and 15 more"):
        precomputed.check_cells(expected.append(many), expected, "f")
    precomputed.check_cells(expected, expected, "f")  # exact match passes


def test_bad_files_are_clear_errors(tmp_path, target):
    with pytest.raises(InputError, match="does not exist"):
        precomputed.run(target, "batch", 0, file=str(tmp_path / "nope.h5ad"))
    np.save(tmp_path / "e.npy", np.zeros((6, 2)))
    with pytest.raises(InputError, match="needs `cell_ids`"):
        precomputed.run(target, "batch", 0, file=str(tmp_path / "e.npy"))
    (tmp_path / "e.parquet").write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        precomputed.run(target, "batch", 0, file=str(tmp_path / "e.parquet"))
    with pytest.raises(InputError, match="no embedding file"):
        precomputed.run(target, "batch", 0)


@pytest.mark.slow
def test_a_precomputed_embedding_is_scored_end_to_end(tmp_path):
    """Embed the preprocessed cells outside the workflow, register the file, and find it in
    every table; a file with a missing cell is recorded as failed with the cells named."""
    config = {
        "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["pca"],
        "method_params": {"pca": {"n_comps": 10}},
    }
    done = run_snakemake(tmp_path, config, targets=("results/data/tiny/preprocessed.h5ad",))
    assert done.returncode == 0, done.stderr[-3000:]
    pre = ad.read_h5ad(tmp_path / "results/data/tiny/preprocessed.h5ad")
    # "made elsewhere": per-batch centred expression, written as csv with cell ids
    x = pre.X.toarray()
    for batch in pre.obs["batch"].unique():
        rows = (pre.obs["batch"] == batch).to_numpy()
        x[rows] -= x[rows].mean(axis=0)
    good = tmp_path / "external.csv"
    pd.DataFrame(x[:, :20], index=pre.obs_names).to_csv(good)
    bad = tmp_path / "external_missing.csv"
    pd.DataFrame(x[1:, :20], index=pre.obs_names[1:]).to_csv(bad)
    registry = {
        "external": {
            "runner": "precomputed",
            "label": "External",
            "params": {"files": {"tiny": str(good)}},
        },
        "external_bad": {"runner": "precomputed", "params": {"files": {"tiny": str(bad)}}},
    }
    config["methods"] = ["pca", "external", "external_bad"]
    targets = ("results/tables/raw_metrics.csv", "results/tables/scores.csv")
    done = run_snakemake(tmp_path, config, targets=targets, registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    result = ad.read_h5ad(tmp_path / integration_path("tiny", "external"))
    np.testing.assert_allclose(result.obsm["X_emb"], x[:, :20], rtol=1e-5, atol=1e-6)
    raw = pd.read_csv(tmp_path / "results/tables/raw_metrics.csv").set_index("method")
    assert raw.loc["external", "status"] == "ok" and 0 <= raw.loc["external", "kbet"] <= 1
    assert raw.loc["external_bad", "status"] == "failed"
    assert (
        f"1 cell of the dataset is missing ({pre.obs_names[0]})" in raw.loc["external_bad", "error"]
    )
    scores = pd.read_csv(tmp_path / "results/tables/scores.csv").set_index("method")
    assert np.isfinite(scores.loc["external", "f1"])
