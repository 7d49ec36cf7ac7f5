"""Shared parts of the competitor parity checks: data, patching, scoring, tables.

Every method module ``benchmarks/parity/<method>.py`` exposes (see :class:`ParityMethod`):

* ``NAME`` (str), ``DEFAULT_EPOCHS`` (int, the authors' default),
  ``DEFAULT_EVAL_EPOCHS`` (list[int]) and ``DESCRIPTION`` (one line: authors' repository,
  commit, the settings both sides run);
* ``prepare_authors(checkout: Path, scratch: Path) -> Path``: copy what is needed of the
  authors' checkout into ``scratch``, patch it to run here (CPU, current libraries, stubs),
  write ``scratch/PATCHES.txt`` and return the patched copy (never committed);
* ``run_authors(patched: Path, adata, seed: int, epochs: int, eval_epochs: list[int])
  -> ParityRun``: train the authors' code on ``adata``;
* ``run_ours(adata, seed, epochs, eval_epochs) -> ParityRun``: train our reimplementation
  on the same ``adata``.

``adata`` is the preprocessed dataset of :func:`load_dataset`: ``X`` = log-normalised HVGs
(``claire.bench.preprocess``, sparse float32), ``obs['batch']`` and ``obs['cell_type']``
(categorical), in the file's / simulator's cell order. Anything method-specific (z-scoring,
the authors' own preprocessing) happens inside the method module, identically for both
sides. ``eval_epochs`` may include 0 (before training); the embedding after the last epoch
is always returned under ``epochs``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import random
import shutil
import sys
import time
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anndata as ad
import numpy as np
import pandas as pd
import torch
import yaml

from claire.bench.contract import to_standard_raw
from claire.bench.methods import pca
from claire.bench.metrics import batch_asw, kbet, nmi_ari
from claire.bench.preprocess import preprocess
from claire.bench.simulate import simulate_counts
from claire.bench.subsample import stratified_subsample

log = logging.getLogger("competitor_parity")

ROOT = Path(__file__).resolve().parents[2]
# ../shared/data beside the repository; a worktree under /work/wt/ falls back to /work/shared
SHARED = next(
    (
        p
        for p in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data")
        if p.exists()
    ),
    ROOT.parent / "shared" / "data",
)
CONFIG = ROOT / "config" / "config.yaml"
# kang_small: a few hundred Kang cells (stratified by batch x type), for the quick checks
DATASETS = ("kang_small", "kang", "cellbench", "sim_trajectory", "sim_2batch", "sim_partial5")
REAL = {  # file, batch column, cell-type column, HVGs (as the default run)
    "kang": ("kang_pbmc_4samples.h5ad", "sample_id", "cluster_id", 1000),
    "cellbench": ("cellbench_5cl_3plates.h5ad", "batch", "celltype", 2000),
}
SMALL_CELLS = 400
# simulated scenarios no longer in config/config.yaml: sim_2batch was the default run's
# two-batch scenario until sim_trajectory replaced it (CLEAR's collapse, issue 23 item 4)
FORMER_SIMULATED = {
    "sim_2batch": {
        "source": {"n_cells": 3000, "n_genes": 3000, "n_batches": 2, "n_cell_types": 6, "seed": 1},
        "n_hvg": 2000,
    }
}


# ---------------------------------------------------------------- the run record


@dataclass
class ParityRun:
    """One training run (authors' or ours) of one method on one dataset and seed."""

    losses: list[float] = field(default_factory=list)  # per epoch, as the method reports it
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)  # epoch -> cells x d
    seconds: float = 0.0  # wall seconds of training (and snapshots), not data preparation
    cpu_seconds: float | None = None  # CPU seconds of the same, where measured
    notes: list[str] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)  # other per-epoch series


class ParityMethod(Protocol):
    """What ``benchmarks/parity/<method>.py`` provides (module-level names)."""

    NAME: str
    DEFAULT_EPOCHS: int
    DEFAULT_EVAL_EPOCHS: list[int]
    DESCRIPTION: str

    def prepare_authors(self, checkout: Path, scratch: Path) -> Path: ...

    def run_authors(
        self, patched: Path, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
    ) -> ParityRun: ...

    def run_ours(
        self, adata: ad.AnnData, seed: int, epochs: int, eval_epochs: list[int]
    ) -> ParityRun: ...


def load_method(name: str) -> ParityMethod:
    """The parity module ``benchmarks.parity.<name>``."""
    return importlib.import_module(f"benchmarks.parity.{name}")  # type: ignore[return-value]


# ---------------------------------------------------------------- the authors' code


def copy_and_patch(
    checkout: Path,
    scratch: Path,
    files: Sequence[str],
    patches: dict[str, Sequence[tuple[str, str]]],
    required: str,
) -> Path:
    """Copy ``files`` (paths relative to ``checkout``; folders too) into a fresh ``scratch``,
    replace text in the copies (``patches``: file -> [(old, new), ...]; every ``old`` must
    occur) and write ``scratch/PATCHES.txt``. ``required`` is a file the checkout must hold."""
    checkout = checkout.resolve()
    if not (checkout / required).exists():
        raise SystemExit(f"{checkout} does not look like the authors' checkout (no {required})")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.ipynb*")
    for rel in files:
        source, target = checkout / rel, scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    notes = [f"copied from {checkout}: {', '.join(files)}"]
    for rel, replacements in patches.items():
        path = scratch / rel
        text = path.read_text()
        for old, new in replacements:
            count = text.count(old)
            if count == 0:
                raise SystemExit(f"patch target {old!r} not found in {rel}: another commit?")
            text = text.replace(old, new)
            notes.append(f"{rel}: {count} x {old!r} -> {new!r}")
        path.write_text(text)
    (scratch / "PATCHES.txt").write_text("\n".join(notes) + "\n")
    log.info("authors' code patched in %s:\n  %s", scratch, "\n  ".join(notes))
    return scratch


class MissingModule(types.ModuleType):
    """Stands in for a module the authors import but these runs never use."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"{self.__name__} is a stub here ({name} unavailable)")


def stub_modules(names: Iterable[str], force: bool = False) -> list[str]:
    """Put a :class:`MissingModule` in ``sys.modules`` for each name not installed (all
    names with ``force``); returns the stubbed names."""
    stubbed = []
    for name in names:
        if name in sys.modules and not force:
            continue
        if force or importlib.util.find_spec(name.split(".")[0]) is None:
            sys.modules[name] = MissingModule(name)
            stubbed.append(name)
    return stubbed


def import_fresh(patched: Path, names: Sequence[str]) -> list[types.ModuleType]:
    """Import ``names`` from the folder ``patched`` (first on ``sys.path``), dropping any
    earlier import of them or their submodules (another checkout's)."""
    for loaded in list(sys.modules):
        if any(loaded == n or loaded.startswith(n + ".") for n in names):
            del sys.modules[loaded]
    path = str(patched)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
    importlib.invalidate_caches()
    return [importlib.import_module(n) for n in names]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's global and torch's generators (for the authors' code, which
    draws from the global ones where it draws at all)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the authors' code uses the global generator)
    torch.manual_seed(seed)


class Timer:
    """Wall and CPU (this process) seconds of a ``with`` block, in ``.seconds`` and
    ``.cpu_seconds``."""

    def __enter__(self) -> Timer:
        self._tick, self._cpu = time.perf_counter(), time.process_time()
        self.seconds = self.cpu_seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._tick
        self.cpu_seconds = time.process_time() - self._cpu


# ---------------------------------------------------------------- data


def load_dataset(
    name: str, seed: int = 0, max_cells: int | None = None, config: Path = CONFIG
) -> ad.AnnData | None:
    """The preprocessed dataset ``name`` (see the module doc); None when its file is absent.

    ``kang_small`` is :data:`SMALL_CELLS` Kang cells; ``max_cells`` subsamples any dataset
    (stratified by batch and cell type, seeded) before preprocessing.
    """
    if name in REAL or name == "kang_small":
        file, batch_key, label_key, n_hvg = REAL["kang" if name == "kang_small" else name]
        path = SHARED / file
        if not path.exists():
            log.warning("%s: %s not found, skipped", name, path)
            return None
        raw = to_standard_raw(ad.read_h5ad(path), batch_key, label_key, name=name)
        if name == "kang_small":
            max_cells = min(max_cells or SMALL_CELLS, SMALL_CELLS)
    else:
        datasets = yaml.safe_load(Path(config).read_text())["datasets"]
        spec = datasets[name] if name in datasets else FORMER_SIMULATED[name]
        source = {k: v for k, v in spec["source"].items() if k != "type"}
        raw, n_hvg = simulate_counts(**source), spec.get("n_hvg", 2000)
    if max_cells and raw.n_obs > max_cells:
        raw = stratified_subsample(raw, max_cells, seed=0)
    data = preprocess(raw, n_hvg=n_hvg, name=name)
    for key in ("batch", "cell_type"):
        data.obs[key] = data.obs[key].astype(str).astype("category")
    return data


# ---------------------------------------------------------------- scoring and tables


def scores(embedding: np.ndarray, batch: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """bASW, kBET, NMI, ARI as the benchmark computes them (claire.bench.metrics)."""
    embedding = np.asarray(embedding, dtype=np.float32)
    clusters = nmi_ari(embedding, labels, seed=0)
    return {
        "bASW": batch_asw(embedding, batch, labels),
        "kBET": kbet(embedding, batch),
        "NMI": clusters.nmi,
        "ARI": clusters.ari,
    }


def pca_scores(adata: ad.AnnData, seed: int = 0) -> dict[str, float]:
    """The unintegrated baseline's scores (PCA-50 of the scaled HVGs)."""
    batch, labels = obs_arrays(adata)
    return scores(pca.run(adata, "batch", seed), batch, labels)


def obs_arrays(adata: ad.AnnData) -> tuple[np.ndarray, np.ndarray]:
    return (
        adata.obs["batch"].astype(str).to_numpy(),
        adata.obs["cell_type"].astype(str).to_numpy(),
    )


def loss_table(runs: dict[str, ParityRun]) -> pd.DataFrame:
    """Per-epoch losses (and extra series) of the runs side by side, epochs from 1."""
    columns: dict[str, pd.Series] = {}
    for name, run in runs.items():
        columns[name] = pd.Series(run.losses, dtype=float)
        for key, values in run.extra.items():
            columns[f"{name} {key}"] = pd.Series(values, dtype=float)
    table = pd.DataFrame(columns)
    table.index = np.arange(1, len(table) + 1)
    table.index.name = "epoch"
    return table


def score_table(runs: dict[str, ParityRun], adata: ad.AnnData) -> pd.DataFrame:
    """bASW / kBET / NMI / ARI of every run's embedding at every evaluated epoch (long)."""
    batch, labels = obs_arrays(adata)
    rows = []
    for name, run in runs.items():
        for epoch, embedding in sorted(run.embeddings.items()):
            rows.append({"run": name, "epoch": epoch, **scores(embedding, batch, labels)})
    return pd.DataFrame(rows)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread (max - min) over seeds, per side ("authors"/"ours") and epoch; runs
    are named ``<side>:s<seed>``."""
    if table.empty:
        return table
    work = table.assign(side=table["run"].str.split(":").str[0])
    metrics = [c for c in table.columns if c not in ("run", "epoch")]
    grouped = work.groupby(["side", "epoch"])[metrics]
    mean, spread = grouped.mean(), grouped.max() - grouped.min()
    out = mean.round(3).astype(str) + " ±" + (spread / 2).round(3).astype(str)
    return out.unstack("side").swaplevel(axis=1).sort_index(axis=1)


def print_runs(
    title: str,
    runs: dict[str, ParityRun],
    adata: ad.AnnData,
    baseline: dict[str, float],
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Print losses, wall time, notes and scores of ``runs`` (``table``: their
    :func:`score_table`, computed here when not given); return the score table."""
    print(f"\n=== {title}", flush=True)
    with pd.option_context("display.max_rows", 500, "display.width", 250):
        print(loss_table(runs).round(4).to_string())
        for name, run in runs.items():
            notes = "; ".join(run.notes)
            cpu = "" if run.cpu_seconds is None else f", {run.cpu_seconds:.1f} CPU s"
            print(
                f"{name}: {run.seconds:.1f} s wall{cpu} (training + snapshots)"
                f"{'; ' if notes else ''}{notes}"
            )
        table = score_table(runs, adata) if table is None else table
        if not table.empty:
            print(table.set_index(["epoch", "run"]).unstack("run").round(3).to_string())
            print("mean ±half-range over seeds:")
            print(summary_table(table).to_string())
        print("PCA (unintegrated): " + "  ".join(f"{k} {v:.3f}" for k, v in baseline.items()))
    return table


def eval_list(eval_epochs: Iterable[int], epochs: int) -> list[int]:
    """The evaluation epochs within [0, epochs], sorted, always including ``epochs``."""
    return sorted({int(e) for e in eval_epochs if 0 <= int(e) <= epochs} | {epochs})
