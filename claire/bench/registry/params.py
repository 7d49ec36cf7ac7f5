"""Parameter layering: a method's parameters on one dataset, from the registry entry, the
config's and the dataset's ``method_params`` and a sensitivity grid point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claire.bench.registry.methods import MethodSpec


def merged_params(
    spec: MethodSpec,
    method_params: Mapping[str, Mapping[str, Any]],
    dataset_params: Mapping[str, Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A method's parameters on one dataset, later layers winning:

    the base method's config and dataset overrides (ablations follow their base method),
    the registry entry's own ``params``, the config's ``method_params[<method>]``, the
    dataset's ``method_params[<method>]``, then ``extra`` (one grid point of the
    sensitivity experiment).
    """
    layers: list[Mapping[str, Any]] = []
    if spec.base is not None:
        layers += [method_params.get(spec.base) or {}, dataset_params.get(spec.base) or {}]
    layers += [
        spec.params,
        method_params.get(spec.name) or {},
        dataset_params.get(spec.name) or {},
        extra or {},
    ]
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged
