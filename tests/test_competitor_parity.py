"""benchmarks/competitor_parity.py's harness (benchmarks/parity/): the shared helpers, and,
when a checkout of the authors' code is named by PARITY_CLEAR_CHECKOUT /
PARITY_SMILE_CHECKOUT / PARITY_MAT2_CHECKOUT / PARITY_SCDCC_CHECKOUT, a short run of each
side (same seed: same initial embedding, except scDCC's, whose layers are built in another
order). INSCT and DESC (TensorFlow) also need PARITY_AUTHORS_PYTHON, the authors'
interpreter, with PARITY_INSCT_CHECKOUT (plus PARITY_IVIS_CHECKOUT, ivis 1.7.2, where not
/tmp/authors/ivis-1.7.2) / PARITY_DESC_CHECKOUT."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.parity import common  # noqa: E402
from benchmarks.parity.common import ParityRun  # noqa: E402


def test_eval_list_keeps_range_and_adds_last_epoch():
    assert common.eval_list([0, 5, 50, -1], 20) == [0, 5, 20]


def test_copy_and_patch_copies_patches_and_records(tmp_path):
    checkout = tmp_path / "authors"
    (checkout / "pkg").mkdir(parents=True)
    (checkout / "pkg" / "model.py").write_text("x = torch.zeros(1).cuda()\ny = 1\n")
    (checkout / "other.py").write_text("z = 2\n")
    scratch = common.copy_and_patch(
        checkout, tmp_path / "scratch", ["pkg"], {"pkg/model.py": [(".cuda()", "")]}, "pkg/model.py"
    )
    assert (scratch / "pkg" / "model.py").read_text().startswith("x = torch.zeros(1)\n")
    assert not (scratch / "other.py").exists()
    assert "1 x '.cuda()'" in (scratch / "PATCHES.txt").read_text()
    assert "cuda" in (checkout / "pkg" / "model.py").read_text()  # the checkout is untouched
    with pytest.raises(SystemExit, match="not found"):
        common.copy_and_patch(
            checkout, tmp_path / "s2", ["pkg"], {"pkg/model.py": [("absent", "")]}, "pkg"
        )


def test_import_fresh_reimports_from_the_named_folder(tmp_path):
    for name, value in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "parity_probe_mod.py").write_text(f"VALUE = {value}\n")
    (first,) = common.import_fresh(tmp_path / "a", ["parity_probe_mod"])
    (second,) = common.import_fresh(tmp_path / "b", ["parity_probe_mod"])
    assert (first.VALUE, second.VALUE) == (1, 2)


def test_summary_table_mean_and_half_range_per_side():
    table = pd.DataFrame(
        {
            "run": ["authors:s0", "authors:s1", "ours:s0", "ours:s1"],
            "epoch": [5, 5, 5, 5],
            "NMI": [0.5, 0.7, 0.6, 0.6],
        }
    )
    summary = common.summary_table(table)
    assert summary.loc[5, ("authors", "NMI")] == "0.6 ±0.1"
    assert summary.loc[5, ("ours", "NMI")] == "0.6 ±0.0"


def test_loss_table_aligns_runs_and_extra_series():
    runs = {"a": ParityRun(losses=[3.0, 2.0], extra={"acc": [10.0, 20.0]}), "b": ParityRun([1.0])}
    table = common.loss_table(runs)
    assert list(table.columns) == ["a", "a acc", "b"]
    assert table.loc[2, "a acc"] == 20.0 and np.isnan(table.loc[2, "b"])


def _checkout(variable: str) -> Path:
    path = os.environ.get(variable)
    if not path or not Path(path).exists():
        pytest.skip(f"{variable} does not name a checkout of the authors' code")
    return Path(path)


@pytest.mark.parametrize(
    ("method", "variable", "epochs"),
    [
        ("clear", "PARITY_CLEAR_CHECKOUT", 2),
        ("smile", "PARITY_SMILE_CHECKOUT", 1),
        ("mat2", "PARITY_MAT2_CHECKOUT", 2),
    ],
)
def test_authors_and_ours_start_from_the_same_model(method, variable, epochs, tmp_path):
    """Same seed, same data: both sides build the same initial weights (epoch-0 embeddings
    equal), then train for a few epochs with finite losses."""
    checkout = _checkout(variable)
    module = common.load_method(method)
    data = common.load_dataset("kang" if method == "smile" else "kang_small", max_cells=600)
    if data is None:
        pytest.skip("real test data not found")
    patched = module.prepare_authors(checkout, tmp_path / "scratch")
    theirs = module.run_authors(patched, data, 0, epochs, [0, epochs])
    ours = module.run_ours(data, 0, epochs, [0, epochs])
    np.testing.assert_allclose(theirs.embeddings[0], ours.embeddings[0], rtol=1e-4, atol=1e-5)
    assert len(theirs.losses) == len(ours.losses) == epochs
    assert np.isfinite(theirs.losses + ours.losses).all()
    assert set(theirs.embeddings) == set(ours.embeddings) == {0, epochs}


def test_scdcc_authors_and_ours_run_the_same_schedule(tmp_path):
    """scDCC: one pretraining epoch and two clustering epochs on each side, same Louvain k
    source, finite losses, embeddings at the same epochs with the same shape."""
    checkout = _checkout("PARITY_SCDCC_CHECKOUT")
    module = common.load_method("scdcc")
    data = common.load_dataset("kang_small")
    if data is None:
        pytest.skip("real test data not found")
    patched = module.prepare_authors(checkout, tmp_path / "scratch")
    saved = dict(module.SETTINGS)
    module.SETTINGS["pretrain_epochs"] = 1
    try:
        theirs = module.run_authors(patched, data, 0, 2, [0, 2])
        ours = module.run_ours(data, 0, 2, [0, 2])
    finally:
        module.SETTINGS.update(saved)
    for run in (theirs, ours):
        assert set(run.embeddings) == {0, 2}
        assert run.embeddings[2].shape == (data.n_obs, 32)
        assert len(run.extra["pretrain"]) == 1
        assert 1 <= len(run.losses) <= 2 and np.isfinite(run.losses).all()


def test_mat2_trained_on_the_authors_triplets_reproduces_the_authors(tmp_path):
    """Our MAT2 trainer fed the triplet batches the authors' BuildMAT2 drew (both stages, in
    their order) reproduces the authors' reconstruction R(E(x)) to float32 rounding (bit for
    bit with one torch thread): same optimisation, so any difference between the two sides
    is in the triplets drawn."""
    from benchmarks.parity import mat2, mat2_triplets

    checkout = _checkout("PARITY_MAT2_CHECKOUT")
    data = common.load_dataset("kang_small")
    if data is None:
        pytest.skip("real test data not found")
    patched = mat2.prepare_authors(checkout, tmp_path / "scratch")
    theirs, record = mat2_triplets.authors_run(patched, data, 0, 2)
    assert [len(record[k]) for k in ("enc", "dec")] == [2, 2]
    with mat2_triplets.replaying(record):
        replay = mat2_triplets.ours_run(data, 0, 2)
    own = mat2_triplets.ours_run(data, 0, 2)
    np.testing.assert_allclose(replay, theirs, rtol=1e-5, atol=1e-6)
    assert np.abs(own - theirs).max() > 1e-3  # our own draws differ: the replay is used


def test_run_driver_exchanges_arrays_with_another_interpreter(tmp_path, monkeypatch):
    """The authors' side in another interpreter: inputs (strings too) go in as .npz with the
    params and seed; losses, embeddings per epoch, seconds, notes and extra series come back;
    a failing driver raises with its output."""
    from benchmarks.parity import external

    (tmp_path / "probe.py").write_text(
        "import json, sys, numpy as np\n"
        "from pathlib import Path\n"
        "f = Path(sys.argv[1]); p = json.loads((f / 'params.json').read_text())\n"
        "d = np.load(f / 'input.npz', allow_pickle=False)\n"
        "if p['fail']: sys.exit('driver broke')\n"
        "np.savez(f / 'output.npz', losses=[1.0, 0.5], seconds=2.0, cpu_seconds=1.5,\n"
        "         notes=np.asarray([str(d['batch'][1]), str(p['seed'])]),\n"
        "         extra_acc=[0.1, 0.2], emb_0=d['x'], emb_3=2 * d['x'], other=[7.0])\n"
    )
    monkeypatch.setattr(external, "DRIVERS", tmp_path)
    monkeypatch.setenv(external.ENV_PYTHON, sys.executable)
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    batch = np.asarray(["a", "b", "c"], dtype=object)
    run = external.run_driver(
        "probe",
        tmp_path,
        {"x": x, "batch": batch},
        {"fail": False},
        seed=4,
        inspect=lambda answer: [f"other {answer['other'][0]:.0f}"],
    )
    assert run.losses == [1.0, 0.5] and run.extra == {"acc": [0.1, 0.2]}
    assert (run.seconds, run.cpu_seconds) == (2.0, 1.5)
    assert run.notes == ["b", "4", "other 7"]
    assert sorted(run.embeddings) == [0, 3]
    np.testing.assert_array_equal(run.embeddings[3], 2 * x)
    with pytest.raises(RuntimeError, match="driver broke"):
        external.run_driver("probe", tmp_path, {"x": x}, {"fail": True}, seed=0)
    monkeypatch.delenv(external.ENV_PYTHON)
    with pytest.raises(SystemExit, match="authors-python"):
        external.run_driver("probe", tmp_path, {"x": x}, {"fail": False}, seed=0)


@pytest.mark.parametrize(
    ("method", "variable", "epochs", "dim"),
    [("insct", "PARITY_INSCT_CHECKOUT", 2, 2), ("desc", "PARITY_DESC_CHECKOUT", 5, 16)],
)
def test_tensorflow_authors_and_ours_run_the_same_schedule(method, variable, epochs, dim, tmp_path):
    """INSCT / DESC (TensorFlow, in PARITY_AUTHORS_PYTHON): both sides train on kang_small
    (DESC: 6 pretraining epochs) and return embeddings of the same shape at the same epochs
    with finite losses; INSCT's both sides use every cell as an MNN anchor."""
    from benchmarks.parity import external

    checkout = _checkout(variable)
    if not os.environ.get(external.ENV_PYTHON):
        pytest.skip(f"{external.ENV_PYTHON} does not name the authors' (TensorFlow) interpreter")
    module = common.load_method(method)
    data = common.load_dataset("kang_small")
    if data is None:
        pytest.skip("real test data not found")
    saved = dict(module.SETTINGS)
    if method == "insct":
        module.SETTINGS["ivis"] = os.environ.get("PARITY_IVIS_CHECKOUT", saved["ivis"])
    else:
        module.SETTINGS["pretrain_epochs"] = 6
    try:
        patched = module.prepare_authors(checkout, tmp_path / "scratch")
        theirs = module.run_authors(patched, data, 0, epochs, [0, epochs])
        ours = module.run_ours(data, 0, epochs, [0, epochs])
    finally:
        module.SETTINGS.update(saved)
    for run in (theirs, ours):
        assert set(run.embeddings) == {0, epochs}
        assert run.embeddings[epochs].shape == (data.n_obs, dim)
        assert 1 <= len(run.losses) <= epochs and np.isfinite(run.losses).all()
    if method == "insct":
        assert theirs.notes[0] == ours.notes[0] == f"{data.n_obs} MNN + 0 KNN anchor cells"
    else:
        assert theirs.extra["e2e"] and ours.extra["e2e"]
        gap = float(next(n for n in theirs.notes if "scale_bygroup" in n).split()[-1])
        assert gap < 1e-3


def test_markdown_tables_pool_seeds_and_show_cpu_seconds_when_recorded(tmp_path):
    from benchmarks.parity import tables

    scores = pd.DataFrame(
        {
            "run": ["authors:s0", "authors:s1", "ours:s0", "ours:s1"],
            "epoch": [2, 2, 2, 2],
            **{m: [0.4, 0.6, 0.5, 0.5] for m in tables.METRICS},
        }
    )
    scores.to_csv(tmp_path / "insct_kang_scores.csv", index=False)
    pd.DataFrame({"authors:s0": [1.0, 0.5], "ours:s0": [1.0, 0.25]}).to_csv(
        tmp_path / "insct_kang_losses.csv"
    )
    pd.DataFrame(
        {"seconds": [10.0, 30.0, 5.0, 7.0], "cpu_seconds": [4.0, 6.0, 2.0, 2.0]},
        index=["authors:s0", "authors:s1", "ours:s0", "ours:s1"],
    ).to_csv(tmp_path / "insct_kang_seconds.csv")
    text = tables.markdown([tmp_path])
    row = next(line for line in text.splitlines() if line.startswith("| kang | 2 "))
    assert "CPU s authors" in text
    assert "0.500 ±0.100 \\| 0.500 ±0.000" in row
    assert row.rstrip(" |").endswith("5 ±1 \\| 2 ±0")  # CPU seconds: mean ±half-range
    assert "20 ±10 \\| 6 ±1" in row  # wall seconds
