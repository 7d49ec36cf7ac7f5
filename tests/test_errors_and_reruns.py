"""Clear messages for bad data files, and reruns that follow every change (issue 25
items 2-4): log-normalised data refused, a truncated or non-h5ad file named, a headerless
CSV embedding and "1 cell" said plainly; a fixed plug-in reruns exactly itself and what
depends on it; a missing precomputed file is a failed run that reruns once it exists."""

from __future__ import annotations

import os
import time

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from helpers.workflow import ROOT, integration_path, run_snakemake, tiny_dataset

from claire.bench.contract import InputError, to_standard_raw
from claire.bench.datasets import load_raw
from claire.bench.methods import precomputed
from claire.bench.simulate import simulate_counts

TOY = ROOT / "tests" / "plugins" / "toy_method.py"


@pytest.fixture(scope="module")
def counts() -> ad.AnnData:
    return simulate_counts(n_cells=200, n_genes=100, n_batches=2, seed=1)


@pytest.fixture(scope="module")
def lognorm(counts) -> ad.AnnData:
    adata = counts.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


def test_log_normalised_data_is_refused_even_with_integer_counts_false(lognorm):
    for flag in (True, False):  # integer_counts
        with pytest.raises(InputError) as err:
            to_standard_raw(lognorm, "batch", "cell_type", name="mine", integer_counts=flag)
        message = str(err.value)
        assert message.startswith("mine: X looks log-normalised (200 of 200 cells hold ")
        # the hint names counts_layer first
        assert message.index("counts_layer") < message.index("integer_counts: false")
        assert message.endswith("layers of the file: none")
    # declared not log-transformed: accepted as non-integer counts
    raw = to_standard_raw(
        lognorm, "batch", "cell_type", integer_counts=False, not_log_transformed=True
    )
    assert raw.n_obs == lognorm.n_obs


def test_log_normalised_x_with_counts_in_a_layer_names_the_layer(counts, lognorm):
    adata = lognorm.copy()
    adata.layers["counts"] = counts.X.copy()
    with pytest.raises(InputError, match="layers of the file: counts$"):
        to_standard_raw(adata, "batch", "cell_type")
    raw = to_standard_raw(adata, "batch", "cell_type", counts_layer="counts")
    assert np.array_equal(raw.X.data, np.round(raw.X.data))


def test_non_integer_counts_hint_names_counts_layer_first(counts):
    adata = counts.copy()
    adata.X = adata.X.astype(np.float32) * 1.5
    with pytest.raises(InputError) as err:
        to_standard_raw(adata, "batch", "cell_type", name="mine")
    message = str(err.value)
    assert "X has non-integer values in" in message
    assert message.index("counts_layer") < message.index("integer_counts: false")
    assert to_standard_raw(adata, "batch", "cell_type", integer_counts=False).n_obs == 200


def test_truncated_and_non_h5ad_files_are_named(tmp_path, counts):
    good = tmp_path / "good.h5ad"
    counts.write_h5ad(good)
    truncated = tmp_path / "truncated.h5ad"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "text.h5ad"
    text.write_text("not an h5ad\n")
    spec = {"batch_key": "batch", "label_key": "cell_type"}
    for path, why in (
        (truncated, "the file is truncated (an incomplete copy or download?)"),
        (text, "it is not an h5ad file (not HDF5)"),
    ):
        with pytest.raises(InputError) as err:
            load_raw("mine", {**spec, "source": {"type": "h5ad", "path": str(path)}})
        assert str(err.value) == f"{path}: cannot be read: {why}"
        with pytest.raises(InputError, match=f"{path}: cannot be read: "):
            precomputed.read_embedding_file(path)


def test_headerless_csv_embedding_says_the_header_row_is_missing(tmp_path):
    target = ad.AnnData(np.zeros((3, 2), np.float32))
    target.obs_names = ["c0", "c1", "c2"]
    emb = pd.DataFrame([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], index=target.obs_names)
    headerless = tmp_path / "emb.csv"
    emb.to_csv(headerless, header=False)
    with pytest.raises(InputError) as err:
        precomputed.run(target, "batch", 0, file=str(headerless))
    assert str(err.value) == (
        f"{headerless}: the header row is missing (the first line holds values: c0, 0.1, "
        "0.2, ...); the first line must name the columns, e.g. cell,dim_0,dim_1,..."
    )
    numbered = tmp_path / "numbered.csv"
    emb.to_csv(numbered)  # header ",0,1": the dimension numbers, a real header
    assert precomputed.run(target, "batch", 0, file=str(numbered)).shape == (3, 2)


def test_one_cell_is_singular():
    expected = pd.Index(["c0", "c1", "c2"])
    with pytest.raises(InputError, match=r"^f: 1 cell of the dataset is missing \(c0\)$"):
        precomputed.check_cells(pd.Index(["c1", "c2"]), expected, "f")
    with pytest.raises(InputError, match=r"1 cell is not in the dataset \(x\)$"):
        precomputed.check_cells(pd.Index(["c0", "c1", "c2", "x"]), expected, "f")
    with pytest.raises(InputError, match="2 cells are in another order"):
        precomputed.check_cells(pd.Index(["c1", "c0", "c2"]), expected, "f")


def _touch_later(path) -> None:
    """Give ``path`` an mtime clearly after every file written so far."""
    later = time.time() + 2
    os.utime(path, (later, later))


def _status(workdir, method: str) -> str:
    return ad.read_h5ad(workdir / integration_path("tiny", method)).uns["integration"]["status"]


@pytest.mark.slow
def test_a_fixed_plugin_reruns_exactly_itself_and_the_tables_change(tmp_path):
    plugin = tmp_path / "my_method.py"
    source = TOY.read_text()
    broken = source.replace(
        '    """Per-batch centred PCA scores (n_cells x n_comps)."""',
        '    """Per-batch centred PCA scores (n_cells x n_comps)."""\n    raise ValueError("bug")',
    )
    assert broken != source
    plugin.write_text(broken)
    registry = {"mine": {"runner": "python", "module": str(plugin), "label": "Mine"}}
    config = {
        "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["pca", "mine"],
        "method_params": {"pca": {"n_comps": 10}, "mine": {"n_comps": 8}},
    }
    targets = ("results/tables/raw_metrics.csv",)
    done = run_snakemake(tmp_path, config, targets, registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / targets[0]).set_index("method")
    assert table.loc["mine", "status"] == "failed" and "bug" in table.loc["mine", "error"]
    pca_result = tmp_path / integration_path("tiny", "pca")
    pca_mtime = pca_result.stat().st_mtime

    plugin.write_text(source)  # the fix
    _touch_later(plugin)
    plan = run_snakemake(tmp_path, config, targets, extra=("-n",), registry=registry)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert integration_path("tiny", "mine") in plan.stdout
    assert integration_path("tiny", "pca") not in plan.stdout
    done = run_snakemake(tmp_path, config, targets, registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / targets[0]).set_index("method")
    assert table.loc["mine", "status"] == "ok" and 0 <= table.loc["mine", "kbet"] <= 1
    assert pca_result.stat().st_mtime == pca_mtime  # not rerun


@pytest.mark.slow
def test_a_missing_precomputed_file_is_a_failed_run_then_rerun_once_it_exists(tmp_path):
    embedding = tmp_path / "mine.csv"
    registry = {"mine": {"runner": "precomputed", "label": "Mine"}}
    config = {
        "datasets": {"tiny": tiny_dataset(n_cells=300, n_genes=300)},
        "methods": ["mine"],
        "method_params": {"mine": {"files": {"tiny": str(embedding)}}},
    }
    target = integration_path("tiny", "mine")
    done = run_snakemake(tmp_path, config, (target,), registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        f"method_params.mine.files.tiny: {embedding} does not exist; mine will be recorded "
        "as failed on tiny"
    ) in done.stderr
    result = ad.read_h5ad(tmp_path / target)
    assert result.uns["integration"]["status"] == "failed"
    assert result.uns["integration"]["error"] == (
        f"InputError: precomputed embedding {embedding} does not exist"
    )
    pre = ad.read_h5ad(tmp_path / "results/data/tiny/preprocessed.h5ad")
    pd.DataFrame(pre.X[:, :5].toarray(), index=pre.obs_names).add_prefix("d").to_csv(embedding)
    done = run_snakemake(tmp_path, config, (target,), registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _status(tmp_path, "mine") == "ok"


def test_a_failing_job_ends_its_log_with_one_line_that_snakemake_shows(tmp_path, lognorm):
    """Log-normalised data (obs fine, so it passes the parse-time check) fails raw_data:
    the log holds the traceback, then one line saying what failed and why; Snakemake's
    output shows that line once and no traceback."""
    path = tmp_path / "lognorm.h5ad"
    lognorm.write_h5ad(path)
    dataset = {
        "source": {"type": "h5ad", "path": str(path)},
        "batch_key": "batch",
        "label_key": "cell_type",
    }
    config = {"datasets": {"lognorm": dataset}, "methods": ["pca"]}
    done = run_snakemake(tmp_path, config, ("results/data/lognorm/raw.h5ad",))
    assert done.returncode != 0
    log = (tmp_path / "results/logs/raw_data/lognorm.log").read_text().strip().splitlines()
    last = log[-1]
    assert (
        " ERROR claire.workflow: raw_data (dataset=lognorm) failed: InputError: lognorm: " in last
    )
    assert "X looks log-normalised (200 of 200 cells hold non-integer values" in last
    assert any(line.startswith("Traceback (most recent call last)") for line in log[:-1])
    failure = last.split(" ERROR claire.workflow: ", 1)[1]
    assert done.stderr.count(failure) == 1
    assert "Traceback (most recent call last)" not in done.stderr
    assert not (tmp_path / "results/data/lognorm/raw.h5ad").exists()


def test_run_logged_keeps_the_traceback_in_the_log_and_prints_one_line(tmp_path, capsys):
    from claire.bench.logs import run_logged

    def main() -> None:
        raise InputError("mine: something is wrong\nsecond line")

    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as exit_:
        run_logged(main, log)
    assert exit_.value.code == 1
    lines = log.read_text().strip().splitlines()
    assert lines[-1].endswith(
        "ERROR claire.workflow: script failed: InputError: mine: something is wrong / second line"
    )
    assert "Traceback (most recent call last)" in log.read_text()
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.strip().endswith(
        "script failed: InputError: mine: something is wrong / second line"
    )
