"""Atomic figure output (PNG and PDF)."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from claire.bench.io import atomic_path

DPI = 150


def save_figure(fig: Figure, *paths: str | os.PathLike) -> list[Path]:
    """Write ``fig`` to every path (format from the suffix, e.g. .png, .pdf), atomically."""
    if not paths:
        raise ValueError("save_figure needs at least one output path")
    written = []
    for path in paths:
        target = Path(path)
        fmt = target.suffix.lstrip(".").lower()
        if fmt not in {"png", "pdf", "svg"}:
            raise ValueError(f"unsupported figure format {target.suffix!r} for {target}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight")
        written.append(target)
    return written
