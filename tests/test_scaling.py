"""The scaling experiment: budget watchdog, table and fitted exponents, and the `scaling`
target on a small source where one method breaks its time budget."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers.workflow import ROOT, run_snakemake, tiny_dataset

from claire.bench.methods.budget import Budget, enforced, exceeded, tree_rss_mb
from claire.bench.tables.scaling import exponents, fitted_exponent

TOY = ROOT / "tests" / "plugins" / "toy_method.py"


def test_budget_breaches_are_named():
    budget = Budget(seconds=10, mem_mb=100)
    assert exceeded(budget, 5, 50) is None
    assert "time budget: 11 s > 10 s" in exceeded(budget, 11, 50)
    assert "memory budget: 150 MB > 100 MB" in exceeded(budget, 5, 150)
    assert exceeded(Budget(), 1e9, 1e9) is None and not Budget()


def test_tree_rss_counts_children():
    alone = tree_rss_mb()
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; x = bytearray(200 * 2**20); time.sleep(5)"]
    )
    try:
        deadline = time.monotonic() + 10
        while tree_rss_mb() < alone + 150 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree_rss_mb() >= alone + 150
    finally:
        child.kill()
        child.wait()


def test_watchdog_records_and_ends_the_job():
    reasons, exits = [], []
    with enforced(Budget(seconds=0.6), reasons.append, exit_process=exits.append):
        time.sleep(1.6)
    assert exits == [0] and len(reasons) == 1 and "time budget" in reasons[0]
    with enforced(Budget(seconds=30), reasons.append, exit_process=exits.append):
        pass
    assert exits == [0]  # a run within budget is left alone


def test_fitted_exponent_recovers_power_laws():
    cells = np.array([1000, 2000, 4000, 8000])
    assert fitted_exponent(cells, 3 * cells) == pytest.approx(1.0)
    assert fitted_exponent(cells, 0.5 * cells**2) == pytest.approx(2.0)
    assert math.isnan(fitted_exponent([1000, 1000], [1, 2]))
    table = pd.DataFrame(
        {
            "method": ["a"] * 3 + ["b"] * 3,
            "cells": [1000, 2000, 4000] * 2,
            "seconds": [1, 2, 4, 1, 4, np.nan],
            "status": ["ok"] * 5 + ["over_budget"],
        }
    )
    slopes = exponents(table)
    assert slopes["a"] == pytest.approx(1.0) and slopes["b"] == pytest.approx(2.0)


@pytest.mark.slow
def test_scaling_target_times_methods_and_stops_at_the_budget(tmp_path):
    registry = {
        "slow_toy": {
            "runner": "python",
            "module": str(TOY),
            "label": "Slow toy",
            "params": {"seconds_per_1k_cells": 20.0},
        }
    }
    source = tiny_dataset(n_cells=1200, n_genes=300, seed=5)
    config = {
        "datasets": {"tiny": tiny_dataset()},
        "methods": ["pca"],
        "scaling": {
            "source": source,
            "sizes": [300, 600, 1200],
            "methods": ["pca", "slow_toy"],
            "time_budget_min": 0.15,  # 9 s: 300 cells take 6 s, 600 cells 12 s
        },
    }
    done = run_snakemake(tmp_path, config, targets=("scaling",), registry=registry)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results/tables/scaling.csv")
    status = table.set_index(["method", "cells"])["status"].to_dict()
    assert status == {
        ("pca", 300): "ok",
        ("pca", 600): "ok",
        ("pca", 1200): "ok",
        ("slow_toy", 300): "ok",
        ("slow_toy", 600): "over_budget",
        ("slow_toy", 1200): "skipped",
    }
    ok = table[table["status"] == "ok"]
    assert (ok["seconds"] > 0).all() and (ok["max_rss_mb"] > 0).all()
    assert set(table["device"]) == {"cpu"}
    slow = table[(table["method"] == "slow_toy") & (table["cells"] == 300)].iloc[0]
    assert slow["seconds"] >= 6
    over = table[table["status"] == "over_budget"].iloc[0]
    assert "time budget" in over["error"]
    for name in ("scaling.png", "scaling.pdf"):
        assert (tmp_path / "results/figures" / name).stat().st_size > 0
    assert os.path.exists(tmp_path / "results/report/tables/scaling.html")
