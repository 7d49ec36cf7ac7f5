"""Min-max scaling, S_batch, S_bio, F1, ranks and tables on hand-made metrics."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from claire.bench.tables.render import benchmark_markdown
from claire.bench.tables.scores import (
    curve_table,
    load_records,
    min_max,
    raw_columns,
    raw_table,
    score_table,
)


def record(dataset, method, basw, kbet, ari, nmi, casw=0.5):
    return {
        "dataset": dataset,
        "method": method,
        "status": "ok",
        "error": "",
        "n_cells": 100,
        "basw": basw,
        "kbet": kbet,
        "ari": ari,
        "nmi": nmi,
        "casw": casw,
        "best_resolution": 1.0,
    }


FAILED = {
    "dataset": "d1",
    "method": "broken",
    "status": "failed",
    "error": "ValueError: bad | input",
    "n_cells": 100,
}
RECORDS = [
    # d1: distinct values; expected scores worked out by hand below
    record("d1", "A", 0.9, 0.5, 0.8, 0.7),
    record("d1", "B", 0.8, 0.7, 0.6, 0.6),
    record("d1", "C", 0.7, 0.3, 0.4, 0.5),
    FAILED,
    # d2: every method ties on kBET and on ARI
    record("d2", "A", 0.6, 1.0, 0.5, 0.9),
    record("d2", "B", 0.4, 1.0, 0.5, 0.8),
    # d3: bASW undefined (no cell type shared by two batches)
    record("d3", "A", None, 0.2, 0.9, 0.9),
    record("d3", "B", None, 0.4, 0.7, 0.95),
]


@pytest.fixture()
def scores() -> pd.DataFrame:
    return score_table(raw_table(RECORDS)).set_index(["dataset", "method"])


def test_scores_match_hand_computation(scores):
    d1 = scores.loc["d1"]
    # scaled: basw A1 B.5 C0; kbet A.5 B1 C0; ari A1 B.5 C0; nmi A1 B.5 C0
    scaled = ["basw_scaled", "kbet_scaled", "ari_scaled", "nmi_scaled"]
    assert d1.loc["A", scaled].tolist() == pytest.approx([1.0, 0.5, 1.0, 1.0])
    assert d1.loc["C", scaled].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert d1["s_batch"][["A", "B", "C"]].tolist() == pytest.approx([0.75, 0.75, 0.0])
    assert d1["s_bio"][["A", "B", "C"]].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert d1["f1"][["A", "B", "C"]].tolist() == pytest.approx([1.5 / 1.75, 0.75 / 1.25, 0.0])
    assert d1["rank"][["A", "B", "C"]].tolist() == [1, 2, 3]


def test_failed_method_is_listed_unscored_and_changes_nothing(scores):
    failed = scores.loc[("d1", "broken")]
    assert failed["status"] == "failed"
    assert failed[["basw_scaled", "s_batch", "s_bio", "f1"]].isna().all()
    assert pd.isna(failed["rank"])
    without = score_table(raw_table([r for r in RECORDS if r is not FAILED]))
    without = without.set_index(["dataset", "method"])
    pd.testing.assert_frame_equal(scores.drop(("d1", "broken")), without, check_like=True)


def test_ties_scale_to_one_without_dividing_by_zero(scores):
    d2 = scores.loc["d2"]
    assert d2["kbet_scaled"].tolist() == [1.0, 1.0]
    assert d2["ari_scaled"].tolist() == [1.0, 1.0]
    assert d2["s_batch"][["A", "B"]].tolist() == pytest.approx([1.0, 0.5])
    assert d2["f1"][["A", "B"]].tolist() == pytest.approx([1.0, 0.5])
    single = min_max(pd.Series([0.3]))
    assert single.tolist() == [1.0]
    assert min_max(pd.Series([np.nan, 0.2, 0.2])).tolist()[1:] == [1.0, 1.0]


def test_undefined_metric_is_left_out_of_the_mean(scores):
    d3 = scores.loc["d3"]
    assert d3["basw_scaled"].isna().all()
    assert d3["s_batch"][["A", "B"]].tolist() == pytest.approx([0.0, 1.0])  # kBET alone
    assert d3["rank"][["A", "B"]].tolist() == [2, 1]  # B: F1 = 2*1*0.5/1.5 > A: F1 = 0


def test_equal_f1_share_the_better_rank():
    tied = [record("d", "X", 0.5, 0.9, 0.9, 0.5), record("d", "Y", 0.9, 0.5, 0.5, 0.9)]
    table = score_table(raw_table(tied))
    assert table["f1"].tolist() == pytest.approx([0.5, 0.5])
    assert table["rank"].tolist() == [1, 1]


def test_csv_columns_are_the_documented_ones(tmp_path):
    raw = raw_table(RECORDS)
    assert list(raw.columns) == [
        "dataset",
        "method",
        "repeat",
        "status",
        "error",
        "n_cells",
        "basw",
        "kbet",
        "ari",
        "nmi",
        "casw",
        "label_transfer",
        "label_transfer_f1",
        "trajectory",
        "bras",
        "best_resolution",
    ]
    assert raw_columns(extended=True)[-9:] == [
        "ilisi",
        "clisi",
        "graph_conn",
        "isolated_labels",
        "pcr",
        "cilisi",
        "basw_apart",
        "basw_overlap",
        "best_resolution",
    ]
    scores = pd.read_csv(io.StringIO(score_table(raw).to_csv(index=False)))
    assert list(scores.columns) == [
        "dataset",
        "method",
        "repeat",
        "status",
        "basw_scaled",
        "kbet_scaled",
        "ari_scaled",
        "nmi_scaled",
        "s_batch",
        "s_bio",
        "f1",
        "rank",
    ]
    assert scores.loc[scores["method"] == "broken", "rank"].isna().all()
    assert raw.loc[raw["method"] == "broken", "basw"].isna().all()


def test_records_are_read_and_checked(tmp_path):
    paths = []
    for i, rec in enumerate(RECORDS[:2]):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps(rec))
    assert [r["method"] for r in load_records(paths)] == ["A", "B"]
    (tmp_path / "bad.json").write_text(json.dumps({"method": "A"}))
    with pytest.raises(ValueError, match="not a metrics record"):
        load_records([tmp_path / "bad.json"])
    with pytest.raises(ValueError, match="duplicated"):
        raw_table([RECORDS[0], RECORDS[0]])


def test_markdown_has_raw_tables_rankings_and_failures():
    raw = raw_table(RECORDS)
    text = benchmark_markdown(raw, score_table(raw))
    for heading in ("## Raw metrics", "### d1", "### d3", "## F1 ranking", "## F1 by dataset"):
        assert heading in text
    assert "| method | bASW | kBET | ARI | NMI | cASW | S_batch | S_bio | F1 |" in text
    assert "| A | 0.900 | 0.500 | 0.800 | 0.700 | 0.500 | 0.750 | 1.000 | 0.857 |" in text
    assert "| broken | failed |" in text
    assert "broken failed: ValueError: bad \\| input" in text  # escaped for markdown
    ranking = text.split("## F1 ranking")[1].split("### d2")[0]
    assert ranking.index("| 1 | A |") < ranking.index("| 2 | B |") < ranking.index("| failed |")


def test_curve_table_stacks_curves_with_ids():
    curve = pd.DataFrame({"epoch": [0, 5], "basw": [0.1, 0.2], "kbet": [0.0, 0.3]})
    curve = curve.assign(ari=[0.5, 0.6], nmi=[0.4, 0.7])
    table = curve_table({("d1", "claire", 0): curve, ("d1", "claire_var1", 0): curve.iloc[:0]})
    assert list(table.columns) == [
        "dataset",
        "method",
        "repeat",
        "epoch",
        "basw",
        "kbet",
        "ari",
        "nmi",
    ]
    assert table["method"].unique().tolist() == ["claire"] and len(table) == 2
    assert list(curve_table({}).columns) == list(table.columns)
