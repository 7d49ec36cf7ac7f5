"""The callable a registry entry names: ``"module:name"`` or ``"path/to/file.py:name"`` (a
plug-in file outside the package). Standard library only."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_callable(reference: str, prefix: str = "claire_plugin") -> Callable[..., Any]:
    """Import ``reference`` and return the callable it names; a file is loaded as the
    module ``<prefix>_<file stem>``."""
    module_name, _, name = reference.rpartition(":")
    if module_name.endswith(".py"):
        path = Path(module_name)
        spec = importlib.util.spec_from_file_location(f"{prefix}_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {name!r} from {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    return getattr(module, name)
