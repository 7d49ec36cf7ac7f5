"""Per-rule cost table from Snakemake benchmark records (benchmarks/rule_costs.py)."""

from pathlib import Path

import pytest

from claire.bench.tables.rule_costs import compare, rule_costs, rule_of

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def record(root: Path, relative: str, wall: float, rss: float, cpu: str) -> None:
    path = root / "benchmarks" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_records_map_to_the_rules_that_wrote_them(tmp_path):
    bench = tmp_path / "benchmarks"
    assert rule_of(bench / "integrate/kang/pca/rep0.tsv", bench) == "integrate"
    assert rule_of(bench / "report/plot_umap/kang.tsv", bench) == "plot_umap"
    assert rule_of(bench / "report/plot_umap_epochs/kang/claire.tsv", bench) == "plot_umap_epochs"
    assert rule_of(bench / "report/plot_f1_bars.tsv", bench) == "plot_f1_bars"
    assert rule_of(bench / "aggregate_metrics/all.tsv", bench) == "aggregate_metrics"


def test_costs_add_up_per_rule_with_a_total(tmp_path):
    record(tmp_path, "integrate/kang/pca/rep0.tsv", 10.0, 300.0, "7.5")
    record(tmp_path, "integrate/kang/claire/rep0.tsv", 50.0, 900.0, "80.25")
    record(tmp_path, "report/plot_umap/kang.tsv", 20.0, 500.0, "15")
    record(tmp_path, "report/plot_f1_bars.tsv", 2.0, 100.0, "NA")  # too short to sample
    table = rule_costs(tmp_path).set_index("rule")
    assert list(table.index) == ["integrate", "plot_umap", "plot_f1_bars", "total"]
    assert table.loc["integrate", "jobs"] == 2
    assert table.loc["integrate", "wall_s"] == pytest.approx(60.0)
    assert table.loc["integrate", "cpu_s"] == pytest.approx(87.75)
    assert table.loc["integrate", "max_rss_mb"] == 900.0
    assert table.loc["plot_f1_bars", "cpu_s"] == 0.0
    assert table.loc["total", "jobs"] == 4
    assert table.loc["total", "cpu_s"] == pytest.approx(102.75)
    assert table.loc["total", "max_rss_mb"] == 900.0


def test_compare_keeps_rules_of_either_run(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    record(old, "integrate/kang/pca/rep0.tsv", 10.0, 300.0, "8")
    record(old, "report/plot_umap/kang.tsv", 20.0, 500.0, "15")
    record(new, "integrate/kang/pca/rep0.tsv", 5.0, 300.0, "4")
    record(new, "training_curve/kang/claire/rep0.tsv", 30.0, 400.0, "25")
    table = compare(rule_costs(old), rule_costs(new)).set_index("rule")
    assert table.loc["plot_umap", "jobs_after"] == 0
    assert table.loc["training_curve", "jobs_before"] == 0
    assert table.loc["integrate", "cpu_s_before"] == 8.0
    assert table.loc["total", "cpu_s_after"] == 29.0
    assert table.index[-1] == "total"


def test_a_folder_without_records_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Snakemake benchmark records"):
        rule_costs(tmp_path)
