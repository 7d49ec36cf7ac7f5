"""Reading a user's h5ad file: one clear error when it cannot be read, and a cheap look at
its ``obs`` (the config check reads columns one by one with h5py, never ``X``).

Only h5py is imported at module level (the workflow imports this while it is parsed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np


class UnreadableFile(ValueError):
    """An h5ad file that cannot be read (the message names the file and says why)."""


def unreadable(path: str | os.PathLike, error: Exception | None = None) -> str:
    """Why an h5ad file that h5py or anndata could not open is unreadable, naming it."""
    path = Path(path)
    text = str(error or "")
    if not path.exists():
        why = "the file does not exist"
    elif "truncated" in text.lower():
        why = "the file is truncated (an incomplete copy or download?)"
    elif not h5py.is_hdf5(path):
        why = "it is not an h5ad file (not HDF5)"
    else:
        why = f"it is not a readable h5ad file ({type(error).__name__}: {text})"
    return f"{path}: cannot be read: {why}"


def read_h5ad(path: str | os.PathLike, **kwargs):
    """``anndata.read_h5ad`` with one clear InputError naming the file when it is missing,
    truncated, not HDF5 or not an AnnData."""
    import anndata as ad

    from claire.bench.contract import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(unreadable(path))
    try:
        return ad.read_h5ad(path, **kwargs)
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise InputError(unreadable(path, error)) from error


@dataclass
class ObsPeek:
    """What the config check needs of a file: cell count, obs columns and layers, and for
    the columns asked for, the number of missing values and of distinct values."""

    n_obs: int
    columns: list[str]
    layers: list[str]
    missing: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "SO":
        return np.array([v.decode() if isinstance(v, bytes) else v for v in values], dtype=object)
    return values


def _column(element: h5py.Group | h5py.Dataset) -> tuple[int, int]:
    """(missing values, distinct values) of one obs column in any anndata encoding."""
    if isinstance(element, h5py.Group):
        kind = element.attrs.get("encoding-type", "")
        if kind == "categorical" or "codes" in element:
            codes = element["codes"][()]
            return int((codes < 0).sum()), int(np.unique(codes[codes >= 0]).size)
        if "mask" in element and "values" in element:  # nullable integer/boolean/string
            mask = element["mask"][()].astype(bool)
            values = _decode(element["values"][()])[~mask]
            return int(mask.sum()), int(np.unique(values).size)
        raise ValueError(f"unknown obs column encoding {kind!r}")
    values = element[()]
    if "categories" in element.attrs:  # anndata < 0.8: codes with a reference to categories
        return int((values < 0).sum()), int(np.unique(values[values >= 0]).size)
    values = _decode(values)
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        missing = np.array([v is None or v == "nan" or v == "" for v in values], dtype=bool)
    return int(missing.sum()), int(np.unique(values[~missing]).size)


def peek_obs(path: str | os.PathLike, columns: tuple[str, ...] = ()) -> ObsPeek:
    """Read the cell count, obs column names, layer names and, for ``columns`` that exist,
    missing and distinct value counts. Raises UnreadableFile when the file cannot be read."""
    path = Path(path)
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise UnreadableFile(unreadable(path, error)) from error
    with file:
        obs = file.get("obs")
        if not isinstance(obs, h5py.Group):
            raise UnreadableFile(f"{path}: cannot be read: it has no obs group (not an h5ad file)")
        index = obs.attrs.get("_index", "_index")
        names = [str(c) for c in obs.attrs.get("column-order", [])]
        n_obs = int(obs[index].shape[0]) if index in obs else 0
        layers = list(file["layers"]) if "layers" in file else []
        peek = ObsPeek(n_obs=n_obs, columns=names, layers=layers)
        for name in columns:
            if name in names and name in obs:
                try:
                    peek.missing[name], peek.distinct[name] = _column(obs[name])
                except (ValueError, KeyError, TypeError):
                    continue  # an encoding this look cannot read: left to the job
    return peek
