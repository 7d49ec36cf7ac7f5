"""The callable a registry entry names: ``"module:name"`` or ``"path/to/file.py:name"`` (a
plug-in file outside the package). Standard library only."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def load_module(module: str, prefix: str = "claire_plugin") -> ModuleType:
    """Import a dotted module path, or load a ``.py`` file as the module
    ``<prefix>_<file stem>``."""
    if not module.endswith(".py"):
        return importlib.import_module(module)
    path = Path(module)
    spec = importlib.util.spec_from_file_location(f"{prefix}_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def load_callable(reference: str, prefix: str = "claire_plugin") -> Callable[..., Any]:
    """Import ``reference`` and return the callable it names; a file is loaded as the
    module ``<prefix>_<file stem>``."""
    module_name, _, name = reference.rpartition(":")
    return getattr(load_module(module_name, prefix), name)
