"""Tables with repeated runs: scaling across every run, per-method mean and sd, markdown."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from claire.bench.experiments.sensitivity import run_name
from claire.bench.tables.render import LABEL_NOTE, benchmark_markdown
from claire.bench.tables.scores import raw_table, score_table, summary_table
from claire.bench.tables.sensitivity import parse_run, sensitivity_table


def record(method, repeat, basw, kbet, ari, nmi, dataset="d"):
    return {
        "dataset": dataset,
        "method": method,
        "repeat": repeat,
        "status": "ok",
        "error": "",
        "n_cells": 100,
        "basw": basw,
        "kbet": kbet,
        "ari": ari,
        "nmi": nmi,
        "casw": 0.5,
        "best_resolution": 1.0,
    }


FAILED_B1 = {"dataset": "d", "method": "B", "repeat": 1, "status": "failed", "error": "OOM"}
RECORDS = [
    record("A", 0, 0.9, 0.5, 0.8, 0.7),
    record("A", 1, 0.7, 0.3, 0.6, 0.5),
    record("B", 0, 0.8, 0.7, 0.4, 0.5),
    FAILED_B1,
    record("P", 0, 0.5, 0.1, 0.2, 0.3),  # a deterministic method: one repeat
]
# Scaled across the four successful runs (hand computation):
#   basw: A0 1, A1 1/2, B0 3/4, P0 0      kbet: A0 2/3, A1 1/3, B0 1, P0 0
#   ari:  A0 1, A1 2/3, B0 1/3, P0 0      nmi:  A0 1,   A1 1/2, B0 1/2, P0 0
S_BATCH = {("A", 0): 5 / 6, ("A", 1): 5 / 12, ("B", 0): 7 / 8, ("P", 0): 0.0}
S_BIO = {("A", 0): 1.0, ("A", 1): 7 / 12, ("B", 0): 5 / 12, ("P", 0): 0.0}
F1 = {("A", 0): 10 / 11, ("A", 1): 35 / 72, ("B", 0): 35 / 62, ("P", 0): 0.0}


@pytest.fixture()
def tables():
    raw = raw_table(RECORDS)
    scores = score_table(raw)
    return raw, scores, summary_table(raw, scores, labels={"B": "Bee"}, uses_labels=["B"])


def test_raw_table_has_one_row_per_repeat_and_refuses_duplicates():
    raw = raw_table(RECORDS)
    assert list(raw.columns[:4]) == ["dataset", "method", "repeat", "status"]
    assert list(zip(raw["method"], raw["repeat"], strict=True)) == [
        ("A", 0),
        ("A", 1),
        ("B", 0),
        ("B", 1),
        ("P", 0),
    ]
    with pytest.raises(ValueError, match=r"duplicated \(dataset, method, repeat\)"):
        raw_table([*RECORDS, record("A", 1, 0.1, 0.1, 0.1, 0.1)])
    # the same method and repeat on another dataset is another run
    assert len(raw_table([*RECORDS, record("A", 1, 0.1, 0.1, 0.1, 0.1, dataset="e")])) == 6


def test_scores_are_scaled_across_every_run_of_the_dataset(tables):
    _, scores, _ = tables
    ok = scores.dropna(subset=["f1"]).set_index(["method", "repeat"])
    for run, expected in S_BATCH.items():
        assert ok.loc[run, "s_batch"] == pytest.approx(expected)
        assert ok.loc[run, "s_bio"] == pytest.approx(S_BIO[run])
        assert ok.loc[run, "f1"] == pytest.approx(F1[run])
    assert ok.loc[("A", 1), "kbet_scaled"] == pytest.approx(1 / 3)
    # ranked per run, best first; the failed repeat last, unranked
    assert list(zip(scores["method"], scores["repeat"], strict=True)) == [
        ("A", 0),
        ("B", 0),
        ("A", 1),
        ("P", 0),
        ("B", 1),
    ]
    assert scores["rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(scores["rank"].iloc[4])


def test_one_repeat_per_method_gives_the_same_scores_as_before():
    """Repeat 0 alone is scored exactly like a table without repeats (records without the key)."""
    first = [r for r in RECORDS if r["repeat"] == 0]
    without_key = [{k: v for k, v in r.items() if k != "repeat"} for r in first]
    pd.testing.assert_frame_equal(
        score_table(raw_table(first)), score_table(raw_table(without_key))
    )


def test_summary_means_sds_counts_and_rank_by_mean_f1(tables):
    _, _, summary = tables
    assert list(summary.columns[:7]) == [
        "dataset",
        "method",
        "label",
        "uses_labels",
        "n_repeats",
        "n_ok",
        "rank",
    ]
    rows = summary.set_index("method")
    assert rows["n_repeats"].to_dict() == {"A": 2, "B": 2, "P": 1}
    assert rows["n_ok"].to_dict() == {"A": 2, "B": 1, "P": 1}
    f1_a = (F1[("A", 0)], F1[("A", 1)])
    assert rows.loc["A", "f1_mean"] == pytest.approx(np.mean(f1_a))
    assert rows.loc["A", "f1_sd"] == pytest.approx(abs(f1_a[0] - f1_a[1]) / math.sqrt(2))
    assert rows.loc["A", "basw_mean"] == pytest.approx(0.8)
    assert rows.loc["A", "basw_sd"] == pytest.approx(0.2 / math.sqrt(2))
    assert rows.loc["A", "s_bio_mean"] == pytest.approx((1 + 7 / 12) / 2)
    # the failed repeat of B is left out of its mean; one value has no sd
    assert rows.loc["B", "f1_mean"] == pytest.approx(F1[("B", 0)])
    assert math.isnan(rows.loc["B", "f1_sd"]) and math.isnan(rows.loc["P", "basw_sd"])
    assert summary["method"].tolist() == ["A", "B", "P"]  # by mean F1: 0.70, 0.56, 0
    assert rows["rank"].tolist() == [1, 2, 3]
    assert rows["label"].to_dict() == {"A": "A", "B": "Bee", "P": "P"}
    assert rows["uses_labels"].to_dict() == {"A": False, "B": True, "P": False}


def test_method_with_every_repeat_failed_has_no_rank():
    records = [
        record("A", 0, 0.9, 0.5, 0.8, 0.7),
        {**FAILED_B1, "repeat": 0},
        FAILED_B1,
    ]
    raw = raw_table(records)
    summary = summary_table(raw, score_table(raw)).set_index("method")
    assert summary.loc["B", "n_ok"] == 0 and pd.isna(summary.loc["B", "rank"])
    assert math.isnan(summary.loc["B", "f1_mean"]) and summary.loc["A", "rank"] == 1
    text = benchmark_markdown(raw, score_table(raw))
    assert "| B | failed |" in text
    assert "B (repeat 0) failed: OOM" in text and "B (repeat 1) failed: OOM" in text


def test_markdown_shows_mean_and_sd_and_marks_label_use(tables):
    raw, scores, summary = tables
    text = benchmark_markdown(raw, scores, summary)
    assert "mean ± sd" in text
    # A: bASW 0.9, 0.7 -> 0.800 ± 0.2/sqrt(2); kBET 0.5, 0.3; ARI 0.8, 0.6; NMI 0.7, 0.5
    row = "| A | 0.800 ± 0.141 | 0.400 ± 0.141 | 0.700 ± 0.141 | 0.600 ± 0.141 | 0.500 ± 0.000 |"
    assert row in text
    # B: two repeats but one success -> mean without sd; marked as label-informed
    assert "| Bee† | 0.800 | 0.700 | 0.400 | 0.500 |" in text
    assert "| P | 0.500 | 0.100 | 0.200 | 0.300 |" in text  # one repeat: plain values
    assert "Bee† (repeat 1) failed: OOM" in text
    ranking = text.split("## F1 ranking")[1].split("## F1 by dataset")[0]
    assert "| rank | method | repeats ok | S_batch | S_bio | F1 |" in ranking
    assert ranking.index("| 1 | A | 2 |") < ranking.index("| 2 | Bee† | 1 |")
    assert text.rstrip().endswith(LABEL_NOTE)
    plain = benchmark_markdown(raw, scores, summary_table(raw, scores, uses_labels=[]))
    assert LABEL_NOTE not in plain and "†" not in plain


def test_sensitivity_table_from_metrics_records_of_grid_runs():
    records = [
        {**record(run_name("claire", "knn", 20), 0, 0.5, 0.4, 0.7, 0.8)},
        {**record(run_name("claire", "knn", 5), 0, 0.1, 0.2, 0.3, 0.4)},
        {**record(run_name("claire", "alpha", 0.5), 0, 0.6, 0.6, 0.6, 0.6), "nmi": None},
        {**FAILED_B1, "method": run_name("claire", "eta", 0.7), "repeat": 0},
    ]
    table = sensitivity_table(records)
    assert list(table.columns) == [
        "dataset",
        "param",
        "value",
        "status",
        "error",
        "basw",
        "kbet",
        "ari",
        "nmi",
    ]
    assert table[["param", "value"]].values.tolist() == [
        ["alpha", 0.5],
        ["eta", 0.7],
        ["knn", 5],
        ["knn", 20],
    ]
    assert table.loc[2, "basw"] == 0.1 and math.isnan(table.loc[0, "nmi"])  # JSON null
    assert table.loc[1, "status"] == "failed" and table.loc[1, "error"] == "OOM"
    assert table.loc[1, ["basw", "kbet", "ari", "nmi"]].isna().all()
    assert parse_run("claire__knn_10") == ("claire", "knn", 10)
    with pytest.raises(ValueError, match="not a sensitivity run name"):
        parse_run("claire")
    with pytest.raises(ValueError, match="duplicated sensitivity grid points"):
        sensitivity_table([records[0], records[0]])
