"""The methods that use a GPU, for cluster profiles (config/profiles/slurm places their
integrate jobs on the GPU partition)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from claire.bench.registry.methods import load_registry


def gpu_methods(extra: Iterable[str | os.PathLike] = ()) -> tuple[str, ...]:
    """Names of the registered methods that use a GPU (for cluster profiles)."""
    return tuple(sorted(name for name, spec in load_registry(extra).items() if spec.gpu))
