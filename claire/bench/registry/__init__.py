"""The identity of every metric and every method: one place each, no heavy imports.

One module per job:

* :mod:`.metrics`: the metric registry (``metric_registry``, ``register_metric``, labels, colours);
* :mod:`.methods`: the method registry (``config/methods.yaml`` read into ``MethodSpec``);
* :mod:`.params`: parameter layering (``merged_params``);
* :mod:`.migration`: what moved from the old config layout;
* :mod:`.gpu`: the GPU methods, for cluster profiles.

``claire.bench.registry.<name>`` still reaches every name of these modules (and the
sensitivity run names of :mod:`claire.bench.experiments.sensitivity`) for plug-ins written
against the single module: ``registry.register_metric(registry.Metric(...))``. The lookup
is live, so the name lists of the metric registry reflect metrics registered later.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("metrics", "methods", "params", "migration", "gpu")
_MODULES = (
    *(f"{__name__}.{name}" for name in _SUBMODULES),
    "claire.bench.experiments.sensitivity",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        if not name.startswith("__") and hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
