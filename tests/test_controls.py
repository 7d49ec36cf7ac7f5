"""Control methods and the control-scaled score table (issue 26 item 4)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from claire.bench.methods import controls
from claire.bench.registry import methods as registry
from claire.bench.tables.controls import (
    control_scaled_markdown,
    control_scaled_summary,
    control_scaled_table,
)
from claire.bench.tables.scores import raw_table, score_table, summary_table, without_controls


def _adata(n: int = 60) -> ad.AnnData:
    rng = np.random.default_rng(0)
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical(rng.choice(["b1", "b2"], n)),
            "cell_type": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        },
        index=[f"c{i}" for i in range(n)],
    )
    x = sp.csr_matrix(rng.poisson(2.0, (n, 30)).astype(np.float32))
    return ad.AnnData(X=x, obs=obs)


def test_control_embeddings():
    adata = _adata()
    pca = controls.scaled_pca(adata, n_comps=10, seed=0)
    rows = {tuple(np.round(r, 5)) for r in pca}
    for kind in ("shuffle", "shuffle_by_batch", "shuffle_by_cell_type"):
        emb = controls.run(adata, "batch", seed=0, kind=kind, n_comps=10)
        assert {tuple(np.round(r, 5)) for r in emb} == rows  # a permutation of PCA's rows
        assert not np.allclose(emb, pca)
    by_batch = controls.run(adata, "batch", seed=0, kind="shuffle_by_batch", n_comps=10)
    for batch in ("b1", "b2"):
        cells = (adata.obs["batch"] == batch).to_numpy()
        assert {tuple(np.round(r, 5)) for r in by_batch[cells]} == {
            tuple(np.round(r, 5)) for r in pca[cells]
        }
    one_hot = controls.run(adata, "batch", seed=0, kind="embed_cell_types")
    assert one_hot.shape == (60, 3) and (one_hot.sum(axis=1) == 1).all()
    codes = adata.obs["cell_type"].cat.codes.to_numpy()
    assert (one_hot.argmax(axis=1) == codes).all()
    jittered = controls.run(adata, "batch", seed=0, kind="embed_cell_types_jittered")
    assert 0 < np.abs(jittered - one_hot).max() <= 0.01
    with pytest.raises(ValueError, match="unknown control"):
        controls.run(adata, "batch", seed=0, kind="perfect")


def test_controls_are_registered_as_controls():
    specs = registry.registry()
    names = [
        "shuffle_integration",
        "shuffle_integration_by_batch",
        "shuffle_integration_by_cell_type",
        "embed_cell_types",
        "embed_cell_types_jittered",
    ]
    for name in names:
        assert specs[name].family == registry.CONTROL_FAMILY
    assert specs["embed_cell_types"].uses_labels and not specs["shuffle_integration"].uses_labels
    assert specs["pca"].family == registry.NO_INTEGRATION_FAMILY


def _raw() -> pd.DataFrame:
    def record(method, basw, kbet, nmi, ari, dataset="d1", status="ok"):
        values = dict(basw=basw, kbet=kbet, nmi=nmi, ari=ari, casw=0.5)
        return {"dataset": dataset, "method": method, "status": status, "n_cells": 10, **values}

    return raw_table(
        [
            record("A", 0.9, 0.6, 0.8, 0.7),
            record("B", 0.7, 0.2, 0.6, 0.5),
            record("pca", 0.6, 0.1, 0.7, 0.6),
            record("shuffle_integration", 1.0, 0.9, 0.0, 0.0),
            record("embed_cell_types", 1.0, 0.0, 1.0, 1.0),
        ]
    )


CONTROLS = ["shuffle_integration", "embed_cell_types"]


def test_control_scaled_table_by_hand():
    scaled = control_scaled_table(
        _raw(), [*CONTROLS, "pca"], metrics=["basw", "kbet", "nmi", "ari", "casw"]
    ).set_index("method")
    # basw: controls 0.6 (pca) .. 1.0 -> A (0.9-0.6)/0.4 = 0.75; kbet 0.0 .. 0.9 -> A 2/3;
    # nmi 0 .. 1 -> 0.8; ari 0 .. 1 -> 0.7; casw all 0.5: not scalable (NaN, left out)
    assert scaled.loc["A", "basw_scaled"] == pytest.approx(0.75)
    assert scaled.loc["A", "kbet_scaled"] == pytest.approx(0.6 / 0.9)
    assert np.isnan(scaled.loc["A", "casw_scaled"])
    assert scaled.loc["A", "batch"] == pytest.approx((0.75 + 0.6 / 0.9) / 2)
    assert scaled.loc["A", "bio"] == pytest.approx((0.8 + 0.7) / 2)
    assert scaled.loc["A", "overall"] == pytest.approx((0.75 + 0.6 / 0.9 + 0.8 + 0.7) / 4)
    # clipped to [0, 1]; the controls are scored too
    assert scaled.loc["pca", "basw_scaled"] == 0.0
    assert scaled.loc["embed_cell_types", "nmi_scaled"] == 1.0
    assert scaled.loc["embed_cell_types", "rank"] == 1 and scaled.loc["A", "rank"] == 2
    summary = control_scaled_summary(
        control_scaled_table(_raw(), [*CONTROLS, "pca"]),
        summary_table(
            without_controls(_raw(), CONTROLS), score_table(without_controls(_raw(), CONTROLS))
        ),
    )
    assert pd.isna(summary.set_index("method").loc["embed_cell_types", "f1_rank"])
    assert summary.set_index("method").loc["A", "f1_rank"] == 1
    text = control_scaled_markdown(summary, scaled.reset_index())
    assert "## d1" in text and "## Overall score by dataset" in text


def test_controls_never_enter_the_papers_min_max():
    raw = _raw()
    with_controls = score_table(without_controls(raw, CONTROLS))
    alone = score_table(raw[~raw["method"].isin(CONTROLS)].reset_index(drop=True))
    pd.testing.assert_frame_equal(with_controls, alone)
    assert set(with_controls["method"]) == {"A", "B", "pca"}
    # had they entered it, the scaled values would move
    assert not score_table(raw).set_index("method").loc["A", "f1"] == pytest.approx(
        with_controls.set_index("method").loc["A", "f1"]
    )
