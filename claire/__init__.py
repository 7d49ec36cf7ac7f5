"""CLAIRE: contrastive batch correction with automatic refinement of positive pairs.

The method lives in ``claire.params/model/pairs/refine/schedule/train/api``; the benchmark library
(data, preprocessing, metrics, competitor adapters, plots) lives in ``claire.bench``.
Heavy imports (torch) are deferred so that ``import claire`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "integrate", "Claire"]


def __getattr__(name: str):
    if name in ("integrate", "Claire"):
        from claire import api

        return getattr(api, name)
    raise AttributeError(f"module 'claire' has no attribute {name!r}")
