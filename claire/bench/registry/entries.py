"""Reading and checking the entries of YAML registries (figures, tables).

A registry is one built-in YAML file plus any extra files a config names, each a mapping of
entry names to entries; later files add entries or replace earlier ones. Only PyYAML besides
the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


def read_entries(
    kind: str,
    files: Iterable[str | os.PathLike],
    error: type[ValueError],
) -> dict[str, Any]:
    """The entries of ``files`` (a ``kind`` registry), later files replacing earlier ones."""
    entries: dict[str, Any] = {}
    for path in files:
        path = Path(path)
        if not path.exists():
            raise error(f"{kind} registry file {path} does not exist")
        content = yaml.safe_load(path.read_text()) or {}
        if not isinstance(content, Mapping):
            raise error(f"{path}: a {kind} registry is a mapping of {kind} names")
        entries.update(content)
    return entries


def check_keys(
    kind: str,
    name: str,
    entry: Any,
    allowed: set[str],
    required: set[str],
    error: type[ValueError],
) -> None:
    """Refuse an entry that is not a mapping, has unknown keys or lacks required ones."""
    if not isinstance(entry, Mapping):
        raise error(f"{kind} {name!r}: registry entry must be a mapping")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise error(f"{kind} {name!r}: unknown registry key(s) {unknown}")
    missing = sorted(required - set(entry))
    if missing:
        raise error(f"{kind} {name!r}: missing registry key(s) {missing}")


def optional_experiment(
    kind: str,
    name: str,
    entry: Mapping[str, Any],
    experiments: tuple[str, ...],
    error: type[ValueError],
) -> str | None:
    """The experiment an entry belongs to (``optional``), or None for every run."""
    optional = entry.get("optional")
    if optional is not None and optional not in experiments:
        raise error(f"{kind} {name!r}: optional must be one of {experiments}")
    return optional


def check_caption(kind: str, name: str, spec: Any, error: type[ValueError]) -> None:
    """Render the entry's caption template now, so a bad one fails at parse time."""
    try:
        spec.caption_text  # noqa: B018 - the property renders the template
    except ValueError as problem:
        raise error(f"{kind} {name!r}: {problem}") from None
