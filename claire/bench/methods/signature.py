"""Which parameters a registered method accepts, and which files are its code, found
without importing it (the workflow checks a config while it is parsed, before any job).

- ``runner: python``: the keyword parameters of the adapter's ``run(adata, batch_key,
  seed, ...)``, read from the module's source; an adapter whose ``run`` takes
  ``**params`` declares them in a module-level ``PARAMETERS = ("name", ...)`` or
  ``PARAMETERS = SomeSettings``, a dataclass of the module: its fields (as
  ``ClaireParams``' are read).
- ``runner: claire``: the fields of :class:`claire.params.ClaireParams` plus ``preset``.
- ``runner: rscript``: the names of the script's ``DEFAULTS <- list(name = value, ...)``.
- ``runner: precomputed``: ``files``, ``key``, ``cell_ids``.

``None`` means the parameters cannot be known (``run(**params)`` without ``PARAMETERS``,
an R script without ``DEFAULTS``, a module not importable here): nothing is checked.
``seed`` is never a parameter: every run receives the workflow's seed.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

from claire.bench.registry.methods import MethodSpec

ROOT = Path(__file__).resolve().parents[3]
CLAIRE_ADAPTER = "claire.bench.methods.claire"
PRECOMPUTED_ADAPTER = "claire.bench.methods.precomputed"
PRECOMPUTED_PARAMETERS = ("files", "key", "cell_ids")
# The method core: a change to any of these files changes what CLAIRE computes.
CLAIRE_CORE = ROOT / "claire"
_POSITIONAL = 3  # adata, batch_key, seed
_R_DEFAULTS = re.compile(r"^DEFAULTS\s*(?:<-|=)\s*list\(", re.MULTILINE)


def module_file(module: str, basedir: Path = ROOT) -> Path | None:
    """The source file of an adapter module: a ``.py`` path (relative to the working
    directory, as the job loads it) or a dotted name (this checkout first, then wherever
    Python finds it); None when it cannot be found here."""
    if module.endswith(".py"):
        return Path(module)
    parts = module.split(".")
    package = basedir.joinpath(*parts)
    for candidate in (package.with_suffix(".py"), package / "__init__.py"):
        if candidate.exists():
            return candidate
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found and found.origin else None


def _declared(value: ast.expr, path: Path) -> tuple[str, ...] | None:
    """``PARAMETERS``' names: a literal tuple, or the fields of a dataclass of the module."""
    if isinstance(value, ast.Name):
        try:
            return _dataclass_fields(path, value.id)
        except LookupError:
            return None
    try:
        return tuple(str(name) for name in ast.literal_eval(value))
    except ValueError:
        return None


@cache
def _module_parameters(path: Path, mtime: float) -> tuple[str, ...] | None:
    tree = ast.parse(path.read_text(), filename=str(path))
    declared = None
    run = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            run = node
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "PARAMETERS" for t in targets):
            declared = _declared(node.value, path)
    if run is None:
        return None
    args = run.args
    names = [a.arg for a in (*args.posonlyargs, *args.args)][_POSITIONAL:]
    names += [a.arg for a in args.kwonlyargs]
    if args.kwarg is not None:
        if declared is None:
            return None
        names += declared
    return tuple(n for n in dict.fromkeys(names) if n != "seed")


def _dataclass_fields(path: Path, name: str) -> tuple[str, ...]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return tuple(
                item.target.id
                for item in node.body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            )
    raise LookupError(f"{path}: no class {name}")


def r_script_parameters(path: Path) -> tuple[str, ...] | None:
    """Names of an R script's ``DEFAULTS <- list(name = value, ...)`` (None: none declared)."""
    text = path.read_text()
    match = _R_DEFAULTS.search(text)
    if match is None:
        return None
    depth, names, start = 1, [], match.end()
    token = ""
    for char in text[start:]:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and char in ",":
            token = ""
            continue
        token += char
        found = re.fullmatch(r"\s*(\w+)\s*=", token)
        if depth == 1 and found:
            names.append(found.group(1))
    return tuple(n for n in names if n != "seed")


def accepted_parameters(spec: MethodSpec, basedir: Path = ROOT) -> tuple[str, ...] | None:
    """Names of the parameters that method ``spec`` accepts (None: not known here)."""
    if spec.runner == "precomputed":
        return PRECOMPUTED_PARAMETERS
    if spec.runner == "claire":
        fields = _dataclass_fields(ROOT / "claire" / "params.py", "ClaireParams")
        return ("preset", *(f for f in fields if f != "seed"))
    if spec.runner == "rscript":
        script = basedir / str(spec.script)
        return r_script_parameters(script) if script.exists() else None
    path = module_file(str(spec.module), basedir)
    if path is None or not path.exists():
        return None
    return _module_parameters(path.resolve(), path.stat().st_mtime)


def sourced_r_files(script: Path) -> list[Path]:
    """The existing ``.R`` files beside ``script`` named on its ``source(...)`` lines."""
    if not script.exists():
        return []
    lines = (line for line in script.read_text().splitlines() if "source(" in line)
    names = [name for line in lines for name in re.findall(r"[\"']([\w.-]+\.R)[\"']", line)]
    found = (script.parent / name for name in dict.fromkeys(names))
    return [p for p in found if p.exists() and p != script]


def r_scripts_of_module(path: Path, basedir: Path) -> list[Path]:
    """The workflow R scripts a Python adapter names (``"x.R"``), with what they source."""
    names = dict.fromkeys(re.findall(r"[\"']([\w.-]+\.R)[\"']", path.read_text()))
    scripts = [p for p in (basedir / "workflow" / "scripts" / n for n in names) if p.exists()]
    return [f for script in scripts for f in (script, *sourced_r_files(script))]


def code_files(spec: MethodSpec, basedir: Path = ROOT) -> list[str]:
    """The files whose change changes what the method computes: the adapter module (or
    plug-in file) with the workflow R scripts it runs, the R script and the R files it
    sources, for CLAIRE its adapter and the method core ``claire/*.py``. Inputs of the
    method's integrate jobs, so that editing one reruns the method."""
    if spec.runner == "rscript":
        script = basedir / str(spec.script)
        return [str(script), *(str(p) for p in sourced_r_files(script))]
    if spec.runner == "claire":
        adapter = module_file(CLAIRE_ADAPTER, basedir)
        core = sorted(p for p in CLAIRE_CORE.glob("*.py") if p.name != "__main__.py")
        return [str(adapter), *(str(p) for p in core)]
    module = PRECOMPUTED_ADAPTER if spec.runner == "precomputed" else str(spec.module)
    path = module_file(module, basedir)
    if path is None or not path.exists():
        return []
    # private helper modules beside it (e.g. competitors/_contrastive.py), R scripts it runs
    shared = [p for p in sorted(path.parent.glob("_*.py")) if p.name != "__init__.py"]
    r_files = r_scripts_of_module(path, basedir)
    return [str(path), *(str(p) for p in shared if p != path), *(str(p) for p in r_files)]
