"""What Python files import, read from their syntax tree (nothing is imported): one
scanner for the layer, report-layer and env tests."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers.workflow import ROOT


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a module below ``root`` (``claire.bench.io``), or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _package(path: Path, root: Path) -> str:
    """The package that relative imports in ``path`` start from ("" outside ``root``)."""
    if not path.is_relative_to(root):
        return ""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1])


def imported_names(path: Path, root: Path = ROOT, skip_lazy: bool = False) -> set[str]:
    """Absolute names imported anywhere in ``path``, function bodies included.

    ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and ``a.b``; relative
    imports are resolved against the file's package below ``root``. With ``skip_lazy``,
    imports inside a module-level ``__getattr__`` (lazy attributes) are left out.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    lazy = set()
    if skip_lazy:
        lazy = {
            id(node)
            for top in tree.body
            if isinstance(top, ast.FunctionDef) and top.name == "__getattr__"
            for node in ast.walk(top)
        }
    package = _package(path, root)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{module}" if module else base
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def claire_modules(path: Path, root: Path = ROOT) -> set[str]:
    """claire modules imported by ``path``, with the packages on their way (their
    ``__init__`` runs too); only names that have a source file."""
    found = set()
    for name in imported_names(path, root):
        parts = name.split(".")
        if parts[0] == "claire":
            found |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {name for name in found if module_file(name, root) is not None}
