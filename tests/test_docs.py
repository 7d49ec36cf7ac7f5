"""The README and docs/ stay true: their project commands work and their links resolve.

Every shell command of the project named in a code block or code span of README.md and
docs/*.md is checked: cheap ones run (``--help`` of the benchmark scripts, Snakemake dry
runs), the others are checked against the project (Makefile targets and variables, the
CLI's parser, Snakemake's options, config files, profiles, config keys, rule names, files
in the repository). Relative links and their #anchors must resolve; Python blocks must
compile.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml
from helpers.workflow import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# documents other work items write; a link to one is accepted while it does not exist yet
PLANNED_DOCS = {
    "docs/errors-and-reruns.md",
    "docs/downstream-and-extended-metrics.md",
    "docs/parity-competitors.md",
    "docs/speed.md",
}
# example names in the docs that stand for the user's own files
PLACEHOLDER_FILES = {"my_config.yaml", "in.h5ad", "out.h5ad"}
REPO_DIRS = ("benchmarks", "claire", "config", "docs", "envs", "scripts", "tests", "workflow")
NOT_PROJECT = {"export", "eval", "apt-get", "cd", "conda", "pip", "tmux", "screen", "sbatch"}

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Command:
    doc: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.doc}: {shlex.join(self.argv)}"


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _split(text: str) -> list[str] | None:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # unbalanced quotes: prose, not a command
        return None


def _project_argv(argv: list[str]) -> tuple[str, ...] | None:
    """The command without leading VAR=value assignments, if it is one of the project's."""
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):
        argv = argv[1:]
    if not argv or argv[0] in NOT_PROJECT:
        return None
    head = argv[0].removeprefix(".venv/bin/")
    if re.fullmatch(r"(benchmarks|scripts)/[\w/-]+\.py", head):
        # a script with arguments, written without `python`; alone it is a file name
        return ("python", *argv) if len(argv) > 1 else None
    if head in {"make", "snakemake"} or re.fullmatch(r"(benchmarks|scripts)/[\w/-]+\.sh", head):
        return (head, *argv[1:])
    if head in {"python", "python3"} and len(argv) > 1:
        if argv[1] == "-m" or argv[1].startswith("benchmarks/"):
            return ("python", *argv[1:])
    return None


@cache
def doc_commands() -> tuple[Command, ...]:
    """Project commands in fenced shell blocks and in code spans of every document."""
    found: list[Command] = []
    for path in DOCS:
        text = path.read_text()
        for lang, body in FENCE.findall(text):
            if lang not in {"", "bash", "sh", "shell", "console"}:
                continue
            for line in body.replace("\\\n", " ").splitlines():
                argv = _split(line.strip().removeprefix("$ "))
                if argv and (cmd := _project_argv(argv)):
                    found.append(Command(_rel(path), cmd))
        for span in SPAN.findall(FENCE.sub("", text)):
            argv = _split(" ".join(span.split()))
            if argv and (cmd := _project_argv(argv)):
                found.append(Command(_rel(path), cmd))
    return tuple(dict.fromkeys(found))


def commands(kind: str) -> list[Command]:
    def of_kind(cmd: Command) -> str:
        head = cmd.argv[0]
        if head == "python":
            return (
                "claire_cli"
                if cmd.argv[1:3] == ("-m", "claire")
                else ("python_module" if cmd.argv[1] == "-m" else "benchmark_script")
            )
        if head.startswith(("benchmarks/", "scripts/")):
            return "shell_script"
        return head

    return list({c.argv: c for c in doc_commands() if of_kind(c) == kind}.values())


def _ids(cmds: list[Command]) -> list[str]:
    return [shlex.join(c.argv)[:80] for c in cmds]


def test_the_docs_have_commands_of_every_kind():
    kinds = ("make", "snakemake", "claire_cli", "python_module", "benchmark_script", "shell_script")
    for kind in kinds:
        assert commands(kind), f"no {kind} command found: the extraction is broken"
    assert Command("README.md", ("make", "run")) in doc_commands()
    assert Command("README.md", ("make", "test")) in doc_commands()


def _repo_paths(argv: tuple[str, ...]) -> list[str]:
    """Arguments that name a file of the repository (no placeholders, no outputs)."""
    return [
        a
        for a in argv
        if a.startswith(tuple(f"{d}/" for d in REPO_DIRS)) and not re.search(r"[<{*]", a)
    ]


# ---- make --------------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", commands("make"), ids=_ids(commands("make")))
def test_make_targets_and_variables_exist(cmd):
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w.-]+):", makefile, re.M))
    for arg in cmd.argv[1:]:
        if "=" in arg:
            name = arg.split("=")[0]
            assert re.search(rf"\$\({name}\)|^{name}\s*\??=", makefile, re.M), f"{cmd}: {name}"
        else:
            assert arg in targets, f"{cmd}: no Makefile target {arg!r}"


# ---- python -m claire and other modules ---------------------------------------------------


@pytest.mark.parametrize("cmd", commands("claire_cli"), ids=_ids(commands("claire_cli")))
def test_claire_cli_commands_parse(cmd):
    from claire.__main__ import build_parser

    try:
        build_parser().parse_args(list(cmd.argv[3:]))
    except SystemExit as exc:
        pytest.fail(f"{cmd}: the CLI rejects these arguments ({exc})")


def test_claire_cli_help_runs():
    done = subprocess.run(
        [sys.executable, "-m", "claire", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0 and "--save-model" in done.stdout


@pytest.mark.parametrize("cmd", commands("python_module"), ids=_ids(commands("python_module")))
def test_python_modules_exist(cmd):
    assert importlib.util.find_spec(cmd.argv[2]) is not None, f"{cmd}: no module {cmd.argv[2]}"


# ---- benchmark and shell scripts ----------------------------------------------------------


@cache
def script_help(script: str) -> str:
    done = subprocess.run(
        [sys.executable, script, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{script} --help failed: {done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.parametrize(
    "cmd", commands("benchmark_script"), ids=_ids(commands("benchmark_script"))
)
def test_benchmark_scripts_run_help_and_know_the_flags(cmd):
    script = cmd.argv[1]
    assert (ROOT / script).is_file(), f"{cmd}: {script} does not exist"
    usage = script_help(script)
    for flag in (a.split("=")[0] for a in cmd.argv[2:] if a.startswith("--")):
        assert flag in usage, f"{cmd}: {script} has no option {flag}"


@pytest.mark.parametrize("cmd", commands("shell_script"), ids=_ids(commands("shell_script")))
def test_shell_scripts_exist_and_know_the_subcommand(cmd):
    script = ROOT / cmd.argv[0]
    assert script.is_file() and script.stat().st_mode & 0o111, f"{cmd}: not an executable file"
    if script.suffix == ".sh" and len(cmd.argv) > 1 and not cmd.argv[1].startswith("-"):
        assert re.search(rf"\b{re.escape(cmd.argv[1])}\)", script.read_text()), (
            f"{cmd}: {script.name} has no subcommand {cmd.argv[1]!r}"
        )


# ---- snakemake ----------------------------------------------------------------------------


@cache
def snakemake_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0
    return done.stdout


@cache
def rule_names() -> set[str]:
    names = set()
    for path in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")]:
        names |= set(re.findall(r"^(?:rule|checkpoint) (\w+):", path.read_text(), re.M))
    return names


@cache
def config_keys() -> set[str]:
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return set(schema["properties"])


def _snakemake_parts(cmd: Command) -> tuple[dict[str, list[str]], list[str]]:
    """(option -> values, targets) of a snakemake command line."""
    options: dict[str, list[str]] = {}
    targets: list[str] = []
    current = None
    for arg in cmd.argv[1:]:
        if arg.startswith("-"):
            current = arg.split("=")[0]
            options.setdefault(current, [])
            if "=" in arg:
                options[current].append(arg.split("=", 1)[1])
        elif current is not None and current not in {"-n", "--dry-run", "--nolock"}:
            options[current].append(arg)
            if current not in {"--config", "--set-resources"}:
                current = None
        else:
            targets.append(arg)
    return options, targets


def _dry_runnable(cmd: Command) -> bool:
    options, targets = _snakemake_parts(cmd)
    files = options.get("--configfile", [])
    return (
        not {"--profile", "--report", "--executor"} & set(options)
        and all((ROOT / f).is_file() for f in files)
        and all(t in rule_names() for t in targets)
    )


@pytest.mark.parametrize("cmd", commands("snakemake"), ids=_ids(commands("snakemake")))
def test_snakemake_commands_name_existing_options_files_keys_and_targets(cmd):
    options, targets = _snakemake_parts(cmd)
    for option in options:
        assert re.search(rf"(^|[\s,]){re.escape(option)}\b", snakemake_help()), (
            f"{cmd}: snakemake has no option {option}"
        )
    for configfile in options.get("--configfile", []):
        assert configfile in PLACEHOLDER_FILES or (ROOT / configfile).is_file(), cmd
    for profile in options.get("--profile", []):
        assert (ROOT / profile / "config.yaml").is_file(), f"{cmd}: no profile {profile}"
    for pair in options.get("--config", []):
        assert pair.split("=")[0] in config_keys(), f"{cmd}: no config key {pair.split('=')[0]}"
    default_datasets = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["datasets"]
    for target in targets:
        if target.startswith("results/"):
            match = re.fullmatch(r"results/integration/(\w+)/(\w+)/rep\d+\.h5ad", target)
            assert match and match[1] in default_datasets, f"{cmd}: unknown target {target}"
        else:
            assert target in rule_names(), f"{cmd}: no rule {target!r}"


DRY_RUNS = [c for c in commands("snakemake") if _dry_runnable(c)]


@pytest.mark.parametrize("cmd", DRY_RUNS, ids=_ids(DRY_RUNS))
def test_snakemake_commands_dry_run(cmd):
    argv = list(cmd.argv[1:])
    if "--cores" in argv:  # the doc's core count -> --cores 1 below
        del argv[argv.index("--cores") : argv.index("--cores") + 2]
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--nolock", "--cores", "1", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{cmd}: dry run failed\n{done.stderr[-3000:]}"


# ---- files, links, Python blocks ------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS, ids=_rel)
def test_repository_paths_in_code_exist(path):
    text = path.read_text()
    spans = [" ".join(s.split()) for s in SPAN.findall(FENCE.sub("", text))]
    blocks = [b for lang, b in FENCE.findall(text) if lang in {"", "bash", "sh", "yaml"}]
    missing = set()
    for chunk in spans + blocks:
        for token in re.findall(r"[\w./-]+", chunk):
            token = token.rstrip(".,")
            if (
                token.startswith(tuple(f"{d}/" for d in REPO_DIRS))
                and "." in Path(token).name
                and not (ROOT / token).exists()
            ):
                missing.add(token)
    assert not missing, f"{_rel(path)} names files that do not exist: {sorted(missing)}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.M)}


@pytest.mark.parametrize("path", DOCS, ids=_rel)
def test_relative_links_resolve(path):
    broken = []
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            if _rel(dest) not in PLANNED_DOCS:
                broken.append(target)
            continue
        if anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert not broken, f"{_rel(path)}: broken links {broken}"


@pytest.mark.parametrize("path", DOCS, ids=_rel)
def test_python_blocks_compile(path):
    for lang, body in FENCE.findall(path.read_text()):
        if lang == "python":
            compile(body, _rel(path), "exec")


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
