"""The exchange format and runner of every ``runner: rscript`` method (R through files, not rpy2).

The Python side writes the preprocessed data into an exchange folder, runs
``Rscript <script> <folder>`` and reads back ``embedding.csv`` (and ``uns.json`` when the
script writes one):

==================  ==========================================================
``counts.mtx``      raw counts of the HVGs, genes x cells (Matrix Market)
``logcounts.mtx``   log-normalised HVGs, genes x cells (Matrix Market)
``genes.csv``       column ``gene``: one row per matrix row
``cells.csv``       columns ``cell`` (positional ids ``cell_0``...), ``batch``, then any
                    extra per-cell columns the Python side passes (e.g. ``cell_type`` for
                    a label-informed method, cluster labels)
``params.json``     the method's parameters plus ``seed``
``embedding.csv``   written by R: column ``cell``, then one column per dimension
``uns.json``        optional, written by R: run statistics stored in the result's ``uns``
==================  ==========================================================

A script declares its parameters and their defaults as ``DEFAULTS <- list(name = value,
...)``; the workflow checks a config's parameter names against them before any job.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from claire.bench.contract import AdapterResult, InputError

log = logging.getLogger(__name__)

EMBEDDING_FILE = "embedding.csv"
UNS_FILE = "uns.json"


def export_inputs(
    adata: ad.AnnData,
    folder: str | Path,
    batch_key: str,
    params: Mapping[str, Any],
    cell_columns: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``adata`` and ``params`` into the exchange folder read by the R script.

    ``cell_columns`` adds per-cell columns (name -> n_cells values) to ``cells.csv``.
    """
    if "counts" not in adata.layers:
        raise InputError("rscript: layers['counts'] with the raw counts is missing")
    if batch_key not in adata.obs.columns:
        raise InputError(f"rscript: obs[{batch_key!r}] is missing")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, matrix in (("counts", adata.layers["counts"]), ("logcounts", adata.X)):
        genes_by_cells = sp.csc_matrix(matrix, dtype=np.float64).T
        scipy.io.mmwrite(folder / f"{name}.mtx", genes_by_cells, precision=7)
    pd.DataFrame({"gene": adata.var_names.astype(str)}).to_csv(folder / "genes.csv", index=False)
    cells = pd.DataFrame(
        {
            "cell": [f"cell_{i}" for i in range(adata.n_obs)],
            "batch": adata.obs[batch_key].astype(str).to_numpy(),
        }
    )
    for name, values in (cell_columns or {}).items():
        values = np.asarray(values)
        if values.shape != (adata.n_obs,) or name in cells.columns:
            raise InputError(
                f"rscript: cell column {name!r} must be new and hold one value per cell"
            )
        cells[name] = values
    cells.to_csv(folder / "cells.csv", index=False)
    (folder / "params.json").write_text(json.dumps(dict(params), sort_keys=True, indent=1))
    return folder


def read_embedding(folder: str | Path, n_cells: int) -> np.ndarray:
    """Read the R script's ``embedding.csv`` back in the original cell order."""
    path = Path(folder) / EMBEDDING_FILE
    if not path.exists():
        raise RuntimeError(f"rscript: {path} was not written")
    table = pd.read_csv(path)
    if "cell" not in table.columns:
        raise RuntimeError(f"rscript: {path} has no 'cell' column")
    expected = [f"cell_{i}" for i in range(n_cells)]
    if sorted(table["cell"]) != sorted(expected):
        raise RuntimeError(f"rscript: {path} does not hold exactly the {n_cells} exported cells")
    table = table.set_index("cell").loc[expected]
    return table.to_numpy(dtype=np.float32)


def run_rscript(script: str | Path, folder: str | Path, rscript: str = "Rscript") -> None:
    """Run ``Rscript script folder``, logging its output line by line as it comes.

    Raises RuntimeError with the last lines of output when R exits with an error.
    """
    executable = shutil.which(rscript)
    if executable is None:
        raise RuntimeError(f"{rscript} not found on PATH; install R (see README, 'Seurat')")
    script = Path(script)
    if not script.exists():
        raise InputError(f"R script {script} does not exist")
    command = [executable, "--vanilla", str(script), str(folder)]
    log.info("running %s", " ".join(command))
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            log.info("R: %s", line)
        status = proc.wait()
    if status != 0:
        raise RuntimeError(f"{script.name} exited with status {status}:\n" + "\n".join(tail))


def read_uns(folder: str | Path) -> dict[str, Any]:
    """The R script's ``uns.json`` (run statistics), or {} when it wrote none."""
    path = Path(folder) / UNS_FILE
    if not path.exists():
        return {}
    content = json.loads(path.read_text())
    if not isinstance(content, dict):
        raise RuntimeError(f"rscript: {path} must hold a JSON object")
    return content


def run_r_method(
    adata: ad.AnnData,
    batch_key: str,
    seed: int,
    script: str | Path,
    cell_columns: Mapping[str, Any] | None = None,
    **params: Any,
) -> np.ndarray | AdapterResult:
    """Run any exchange-format R script on ``adata``; return its embedding, with the
    script's ``uns.json`` as an :class:`AdapterResult` when it wrote one."""
    with tempfile.TemporaryDirectory(prefix="claire-rscript-") as tmp:
        export_inputs(adata, tmp, batch_key, {"seed": int(seed), **params}, cell_columns)
        run_rscript(script, tmp)
        embedding = read_embedding(tmp, adata.n_obs)
        uns = read_uns(tmp)
    return AdapterResult(embedding, uns=uns) if uns else embedding


def r_adapter(script: str | Path):
    """The ``run(adata, batch_key, seed, **params)`` adapter of an exchange-format R script."""
    return partial(run_r_method, script=script)


def r_package_missing(package: str = "Seurat", rscript: str = "Rscript") -> str | None:
    """None when Rscript and the R ``package`` are installed, else the reason why not."""
    executable = shutil.which(rscript)
    if executable is None:
        return "Rscript is not on PATH (apt-get install r-base-core r-cran-seurat)"
    probe = subprocess.run(
        [
            executable,
            "--vanilla",
            "-e",
            f"quit(status = !requireNamespace('{package}', quietly = TRUE))",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"the R package {package} is not installed (Debian: r-cran-{package.lower()})"
    return None
