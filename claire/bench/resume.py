"""Start a run, or resume an interrupted one, with one command, for any config.

``python -m claire.bench.resume [SNAKEMAKE ARGUMENTS]`` (what ``make run`` calls) releases
a lock left by a killed Snakemake in the run's directory (``--directory``/``-d``, else the
current one; only when no Snakemake runs there, :mod:`claire.bench.runlock`), then runs
``snakemake --rerun-incomplete`` with the arguments given, e.g.
``python -m claire.bench.resume --cores 4 --configfile config/paper.yaml``. Jobs cut off by
the interrupt run again; finished ones are kept.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from claire.bench.runlock import release_stale_lock


def run_directory(args: Sequence[str]) -> Path:
    """The working directory Snakemake will use with ``args``."""
    args = list(args)
    for i, arg in enumerate(args):
        if arg in ("--directory", "-d") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--directory="):
            return Path(arg.split("=", 1)[1])
    return Path.cwd()


def command(args: Sequence[str]) -> list[str]:
    """The Snakemake command line run after the lock is released."""
    return [sys.executable, "-m", "snakemake", "--rerun-incomplete", *args]


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = list(sys.argv[1:] if argv is None else argv)
    release_stale_lock(run_directory(args))
    return subprocess.call(command(args))


if __name__ == "__main__":
    raise SystemExit(main())
