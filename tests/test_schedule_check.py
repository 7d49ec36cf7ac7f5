"""The schedule check's pure parts (claire.bench.experiments.schedules): schedules from the
registry and the config, the derived config of a schedule run, the difference table."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from claire.bench.experiments import schedules as sch
from claire.bench.registry.methods import registry

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_authors_and_default_schedules_come_from_registry_and_config():
    specs = registry()
    for method in ("insct", "clear", "smile", "mat2"):
        authors = sch.registry_schedule(method, specs)
        assert authors == {p: e["authors"] for p, e in specs[method].schedule.items()}
        default = sch.default_schedule(method, CONFIG, specs)
        assert default == {p: CONFIG["method_params"][method][p] for p in authors}
    # a schedule parameter the config leaves out runs at the authors' value
    config = {"method_params": {"desc": {"pretrain_epochs": 60}}}
    assert sch.default_schedule("desc", config, specs) == {
        **sch.registry_schedule("desc", specs),
        "pretrain_epochs": 60,
    }
    # a rule of the data size: None, the adapter's own rule
    assert sch.registry_schedule("scvi", specs) == {"max_epochs": None}
    # ablations take their base's
    assert sch.registry_schedule("smile_bn_eval", specs) == sch.registry_schedule("smile", specs)
    with pytest.raises(sch.ScheduleError, match="no training schedule"):
        sch.registry_schedule("pca", specs)
    with pytest.raises(sch.ScheduleError, match="not registered"):
        sch.registry_schedule("nope", specs)


def test_parse_schedule():
    specs = registry()
    assert sch.parse_schedule("clear:epochs=60", specs) == ("clear", {"epochs": 60})
    assert sch.parse_schedule("desc:pretrain_epochs=100,max_iter=200", specs) == (
        "desc",
        {"pretrain_epochs": 100, "max_iter": 200},
    )
    assert sch.schedule_label({"max_iter": 200, "pretrain_epochs": 100}) == (
        "max_iter=200,pretrain_epochs=100"
    )
    for bad, message in [
        ("clear", "expected"),
        ("clear:lr=0.1", "not a schedule parameter"),
        ("clear:epochs=sixty", "not an integer"),
    ]:
        with pytest.raises(sch.ScheduleError, match=message):
            sch.parse_schedule(bad, specs)


def test_derive_config(tmp_path):
    before = copy.deepcopy(CONFIG)
    config = sch.derive_config(
        CONFIG, {"clear": {"epochs": 100}, "insct": {"epochs": 120}}, tmp_path / "r", ROOT
    )
    assert config["methods"] == ["clear", "insct"]
    assert config["results"] == str(tmp_path / "r")
    assert config["method_params"]["clear"] == {"epochs": 100, "snapshot_epochs": []}
    # other methods' and other keys' blocks stay as they were
    assert config["method_params"]["claire"] == CONFIG["method_params"]["claire"]
    assert {k: v for k, v in config.items() if k not in ("methods", "results", "datasets",
            "method_params")} == {k: v for k, v in CONFIG.items() if k not in (
            "methods", "results", "datasets", "method_params")}  # fmt: skip
    kang = config["datasets"]["kang_pbmc"]["source"]["path"]
    assert Path(kang).is_absolute()
    assert Path(kang) == (ROOT / CONFIG["datasets"]["kang_pbmc"]["source"]["path"]).resolve()
    assert config["datasets"]["sim_trajectory"] == CONFIG["datasets"]["sim_trajectory"]
    # the base config is not touched
    assert CONFIG == before
    assert not Path(CONFIG["datasets"]["kang_pbmc"]["source"]["path"]).is_absolute()
    epochs = {"epochs": CONFIG["method_params"]["clear"]["epochs"]}
    kept = sch.derive_config(CONFIG, {"clear": epochs}, "r", ROOT, keep_snapshots=True)
    assert kept["method_params"]["clear"] == CONFIG["method_params"]["clear"]
    targets = sch.metric_targets("r", ["a", "b"], ["clear"])
    assert targets == ["r/metrics/a/clear/rep0.json", "r/metrics/b/clear/rep0.json"]


def _record(results: Path, dataset: str, method: str, values: dict, cpu: float | None) -> None:
    path = results / "metrics" / dataset / method / "rep0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"status": "ok", "n_cells": 10, **values}))
    if cpu is not None:
        bench = results / "benchmarks" / "integrate" / dataset / method / "rep0.tsv"
        bench.parent.mkdir(parents=True)
        bench.write_text(f"s\tcpu_time\n3.0\t{cpu}\n")


def test_difference_table(tmp_path):
    authors = {"basw": 0.80, "kbet": 0.50, "nmi": 0.70, "ari": 0.60}
    short = {"basw": 0.78, "kbet": 0.55, "nmi": 0.7201, "ari": 0.58}
    _record(tmp_path / "a", "d", "m", authors, 100.0)
    _record(tmp_path / "s", "d", "m", short, None)
    results = {
        ("m", "d", sch.DEFAULT): sch.read_run(tmp_path / "s", "d", "m"),
        ("m", "d", sch.AUTHORS): sch.read_run(tmp_path / "a", "d", "m"),
        ("m", "d2", sch.DEFAULT): sch.read_run(tmp_path / "s", "d2", "m"),
    }
    assert results[("m", "d", sch.AUTHORS)].cpu_s == 100.0
    assert results[("m", "d", sch.DEFAULT)].cpu_s is None
    assert results[("m", "d2", sch.DEFAULT)].status == "missing"
    schedules = {("m", sch.DEFAULT): {"epochs": 20}, ("m", sch.AUTHORS): {"epochs": 100}}
    rows = sch.difference_rows(results, schedules)
    assert [(r.dataset, r.schedule) for r in rows] == [
        ("d", sch.AUTHORS),
        ("d", sch.DEFAULT),
        ("d2", sch.DEFAULT),
    ]
    authors_row, short_row, missing_row = rows
    assert authors_row.flagged == () and all(v == 0 for v in authors_row.diffs.values())
    assert short_row.diffs == pytest.approx(
        {"basw": -0.02, "kbet": 0.05, "nmi": 0.0201, "ari": -0.02}
    )
    # exactly 0.02 (up to float noise) is within the tolerance; 0.0201 is not
    assert short_row.flagged == ("kbet", "nmi")
    assert missing_row.diffs == {} and missing_row.flagged == ()
    table = sch.markdown_table(rows).splitlines()
    assert table[0] == "| method | dataset | schedule | bASW | kBET | NMI | ARI | CPU s |"
    assert table[2] == "| m | d | authors (epochs=100) | 0.800 | 0.500 | 0.700 | 0.600 | 100.0 |"
    assert table[3] == (
        "| m | d | default (epochs=20) | 0.780 (-0.020) | 0.550 (**+0.050**) "
        "| 0.720 (**+0.020**) | 0.580 (-0.020) | – |"
    )
    assert "failed" in table[4]
    sch.write_csv(rows, tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0].startswith("method,dataset,schedule,values,status,basw")
    assert len(lines) == 4 and "kbet nmi" in lines[2]


def test_embedding_difference(tmp_path):
    import anndata as ad
    import numpy as np

    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    for name, emb in [("a", x), ("b", x), ("c", x + 0.5), ("d", x[:, :2])]:
        ad.AnnData(obsm={"X_emb": emb}, obs={"i": list(range(4))}).write_h5ad(tmp_path / name)
    assert sch.embedding_difference(tmp_path / "a", tmp_path / "b") == 0.0
    assert sch.embedding_difference(tmp_path / "a", tmp_path / "c") == 0.5
    assert sch.embedding_difference(tmp_path / "a", tmp_path / "d") == float("inf")


def test_embeddings_difference_covers_every_snapshot(tmp_path):
    import anndata as ad
    import numpy as np

    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    runs = {
        "a": {"X_emb": x, "X_emb_epoch_0": x},
        "b": {"X_emb": x, "X_emb_epoch_0": x},
        "c": {"X_emb": x, "X_emb_epoch_0": x - 0.25},  # only a snapshot differs
        "d": {"X_emb": x},  # a snapshot is missing
    }
    for name, obsm in runs.items():
        ad.AnnData(obsm=obsm, obs={"i": list(range(4))}).write_h5ad(tmp_path / name)
    assert sch.embeddings_difference(tmp_path / "a", tmp_path / "b") == 0.0
    assert sch.embeddings_difference(tmp_path / "a", tmp_path / "c") == 0.25
    assert sch.embeddings_difference(tmp_path / "a", tmp_path / "d") == float("inf")


def test_recorded_schedule(tmp_path):
    import anndata as ad
    import numpy as np

    adata = ad.AnnData(obsm={"X_emb": np.zeros((2, 2), dtype=np.float32)})
    adata.uns["integration"] = {"params": json.dumps({"epochs": 20, "snapshot_epochs": [0]})}
    adata.write_h5ad(tmp_path / "r.h5ad")
    authors = {"epochs": 100, "lr_stages": 3}
    assert sch.recorded_schedule(tmp_path / "r.h5ad", authors) == {"epochs": 20, "lr_stages": 3}
