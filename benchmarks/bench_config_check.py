"""What checking a config before the first job costs (issue 25: a dry run stays cheap).

Usage: python benchmarks/bench_config_check.py [CONFIG ...] [--no-dry-run]

For each config (default: config/config.yaml and config/paper.yaml) it prints the CPU and
wall seconds of the parse-time check alone (schema defaults, then
``claire.bench.config_check.check_config``) and of a whole ``snakemake -n`` with that
config (parse, check, job graph; run in a subprocess, its CPU time from the child's
rusage). CPU seconds are the figure to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_check(config_path: Path) -> tuple[float, float, int]:
    """(CPU s, wall s, number of problems) of the schema defaults plus the config check."""
    from snakemake.utils import validate

    from claire.bench.config_check import check_config

    config = yaml.safe_load(config_path.read_text())
    cpu, wall = cpu_seconds(), time.perf_counter()
    filled = copy.deepcopy(config)
    validate(filled, str(SCHEMA))
    problems = check_config(filled, ROOT)[0]
    return cpu_seconds() - cpu, time.perf_counter() - wall, len(problems)


def time_dry_run(config_path: Path) -> tuple[float, float, int]:
    """(CPU s, wall s, exit code) of ``snakemake -n`` with the config, in a scratch directory."""
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [sys.executable, "-m", "snakemake", "-n", "--quiet", "all", "--snakefile",
               str(ROOT / "Snakefile"), "--directory", scratch,
               "--configfile", str(config_path)]  # fmt: skip
        cpu, wall = cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        used = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
        return used, time.perf_counter() - wall, done.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipped = [ROOT / "config" / "config.yaml", ROOT / "config" / "paper.yaml"]
    parser.add_argument("configs", nargs="*", type=Path, default=shipped)
    parser.add_argument("--no-dry-run", action="store_true", help="time the check only")
    args = parser.parse_args(argv)
    print(f"{'config':<24} {'check CPU s':>11} {'wall s':>7} {'problems':>8}"
          f" {'dry run CPU s':>13} {'wall s':>7} {'rc':>3}")  # fmt: skip
    for path in args.configs:
        cpu, wall, problems = time_check(path)
        row = f"{path.name:<24} {cpu:>11.2f} {wall:>7.2f} {problems:>8}"
        if not args.no_dry_run:
            dry_cpu, dry_wall, rc = time_dry_run(path)
            row += f" {dry_cpu:>13.2f} {dry_wall:>7.2f} {rc:>3}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
