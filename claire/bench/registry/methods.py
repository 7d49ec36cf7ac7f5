"""Method registry: ``config/methods.yaml`` (plus any extra registry files named by the
config's ``method_registry``) holds one entry per method: how the workflow runs it (runner,
module or script, env, threads, resources, gpu), what it is (display label, family,
reference DOI), whether it reads cell-type labels and whether one repeat suffices. The run
config only lists which methods run (:func:`resolve_methods`). Only PyYAML besides the
standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A run of a method with one parameter changed (sensitivity grid): "<method>__<param>_<value>".
RUN_SEPARATOR = "__"

RUNNERS = ("python", "rscript", "claire", "precomputed")
FAMILIES = (
    "baseline",
    "classical",
    "contrastive",
    "deep clustering",
    "deep generative",
    "external",
    "control",
)
CONTROL_FAMILY = "control"  # left out of the paper's F1 min-max (control-scaled table only)
NO_INTEGRATION_FAMILY = "baseline"  # the unintegrated PCA: a control of the scaled table too
DEFAULT_REGISTRY = Path(__file__).resolve().parents[3] / "config" / "methods.yaml"
LABEL_USE_MARK = "†"  # appended to the display name of a method that reads cell-type labels


class RegistryError(ValueError):
    """A method registry entry or a reference to a method is invalid."""


@dataclass(frozen=True)
class MethodSpec:
    """One method registry entry (see config/methods.yaml for the meaning of each key)."""

    name: str
    runner: str
    label: str
    family: str
    module: str | None = None
    script: str | None = None
    env: str | None = None
    threads: int = 2
    mem_mb: int = 8000
    runtime: int = 60
    gpu: bool = False
    uses_labels: bool = False
    deterministic: bool = False
    reimplementation: bool = False
    reference: str = ""
    base: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """Label for tables and figures; label-informed methods carry a mark."""
        return f"{self.label}{LABEL_USE_MARK}" if self.uses_labels else self.label


_ENTRY_KEYS = {
    "runner",
    "label",
    "family",
    "module",
    "script",
    "env",
    "threads",
    "resources",
    "gpu",
    "uses_labels",
    "deterministic",
    "reimplementation",
    "reference",
    "base",
    "params",
    "schedule",
}
_SCHEDULE_KEYS = {"authors", "label", "rule"}


def schedule_entry(name: str, schedule: Any) -> dict[str, dict[str, Any]]:
    """Check a registry entry's ``schedule`` (parameter -> authors' value, or a mapping with
    ``authors``, ``label``, ``rule``) and return it as parameter -> mapping."""
    if schedule is None:
        return {}
    if not isinstance(schedule, Mapping):
        raise RegistryError(f"method {name!r}: schedule must map parameters to authors' values")
    checked: dict[str, dict[str, Any]] = {}
    for param, value in schedule.items():
        value = dict(value) if isinstance(value, Mapping) else {"authors": value}
        unknown = sorted(set(value) - _SCHEDULE_KEYS)
        if unknown:
            raise RegistryError(f"method {name!r}: schedule {param!r}: unknown key(s) {unknown}")
        authors = value.get("authors")
        if authors is None and not value.get("rule"):
            raise RegistryError(f"method {name!r}: schedule {param!r} needs authors or a rule")
        if authors is not None and (isinstance(authors, bool) or not isinstance(authors, int)):
            raise RegistryError(f"method {name!r}: schedule {param!r}: authors must be an integer")
        value.setdefault("label", str(param).replace("_", " "))
        checked[str(param)] = value
    return checked


def method_spec(name: str, entry: Mapping[str, Any]) -> MethodSpec:
    """Check one registry entry and return its :class:`MethodSpec`."""
    if not isinstance(entry, Mapping):
        raise RegistryError(f"method {name!r}: registry entry must be a mapping")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise RegistryError(f"method {name!r}: unknown registry key(s) {unknown}")
    runner = entry.get("runner")
    if runner not in RUNNERS:
        raise RegistryError(f"method {name!r}: runner must be one of {RUNNERS}, got {runner!r}")
    if runner == "python" and not entry.get("module"):
        raise RegistryError(f"method {name!r}: runner python needs a module")
    if runner == "rscript" and not entry.get("script"):
        raise RegistryError(f"method {name!r}: runner rscript needs a script")
    family = entry.get("family", "external")
    if family not in FAMILIES:
        raise RegistryError(f"method {name!r}: family must be one of {FAMILIES}, got {family!r}")
    resources = dict(entry.get("resources") or {})
    unknown = sorted(set(resources) - {"mem_mb", "runtime"})
    if unknown:
        raise RegistryError(f"method {name!r}: unknown resource(s) {unknown} (mem_mb, runtime)")
    return MethodSpec(
        name=name,
        runner=runner,
        label=str(entry.get("label", name)),
        family=family,
        module=entry.get("module"),
        script=entry.get("script"),
        env=entry.get("env"),
        threads=int(entry.get("threads", 2)),
        mem_mb=int(resources.get("mem_mb", 8000)),
        runtime=int(resources.get("runtime", 60)),
        gpu=bool(entry.get("gpu", False)),
        uses_labels=bool(entry.get("uses_labels", False)),
        deterministic=bool(entry.get("deterministic", False)),
        reimplementation=bool(entry.get("reimplementation", False)),
        reference=str(entry.get("reference", "")),
        base=entry.get("base"),
        params=dict(entry.get("params") or {}),
        schedule=schedule_entry(name, entry.get("schedule")),
    )


def load_registry(extra: Iterable[str | os.PathLike] = ()) -> dict[str, MethodSpec]:
    """The built-in registry (config/methods.yaml) with the entries of ``extra`` files
    added or replacing built-in ones."""
    entries: dict[str, Any] = {}
    for path in (DEFAULT_REGISTRY, *extra):
        path = Path(path)
        if not path.exists():
            raise RegistryError(f"method registry file {path} does not exist")
        content = yaml.safe_load(path.read_text()) or {}
        if not isinstance(content, Mapping):
            raise RegistryError(f"{path}: a method registry is a mapping of method names")
        entries.update(content)
    registry = {name: method_spec(name, entry) for name, entry in entries.items()}
    for spec in registry.values():
        if spec.base is not None and spec.base not in registry:
            raise RegistryError(f"method {spec.name!r}: base {spec.base!r} is not registered")
    return registry


_REGISTRY: dict[str, MethodSpec] | None = None


def registry() -> dict[str, MethodSpec]:
    """The built-in registry, read once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def display_name(method: str, specs: Mapping[str, MethodSpec] | None = None) -> str:
    """Display name of a method (or of a run ``<method>__<param>_<value>``)."""
    specs = registry() if specs is None else specs
    base, _, variant = method.partition(RUN_SEPARATOR)
    spec = specs.get(base)
    name = spec.display_name if spec is not None else base
    return f"{name} ({variant.replace('_', '=', 1)})" if variant else name


def uses_labels(method: str, specs: Mapping[str, MethodSpec] | None = None) -> bool:
    """Whether a method (or a run of it) reads the cell-type labels."""
    specs = registry() if specs is None else specs
    spec = specs.get(method.partition(RUN_SEPARATOR)[0])
    return bool(spec and spec.uses_labels)


def method_schedule(
    method: str, specs: Mapping[str, MethodSpec]
) -> Mapping[str, Mapping[str, Any]] | None:
    """The registry's schedule of a method (or of a run ``<method>__<param>_<value>``);
    an ablation without its own takes its base's. None: the method is not registered."""
    spec = specs.get(method.partition(RUN_SEPARATOR)[0])
    seen: set[str] = set()
    while spec is not None and not spec.schedule and spec.base and spec.base not in seen:
        seen.add(spec.name)
        spec = specs.get(spec.base)
    return None if spec is None else spec.schedule


def resolve_methods(names: Iterable[str], specs: Mapping[str, MethodSpec]) -> list[str]:
    """The run's method names, checked against the registry (duplicates refused)."""
    names = list(names)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise RegistryError(
            f"method(s) {unknown} are not in the method registry; registered: {sorted(specs)}"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RegistryError(f"method(s) {duplicated} listed twice under `methods`")
    return names
