"""Release a Snakemake lock left behind by a killed run, so that rerunning resumes.

Snakemake locks its working directory (``.snakemake/locks``) while it runs; a run killed
with SIGKILL (or a power loss) leaves the lock, and the next run refuses to start. This
removes the lock only when no live Snakemake process works in the same directory.
``python -m claire.bench.runlock [DIR]`` is what ``make run`` calls before Snakemake.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def live_snakemake_in(directory: Path) -> list[int]:
    """PIDs of running Snakemake processes whose working directory is ``directory``."""
    directory = directory.resolve()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = Path(os.readlink(entry / "cwd")).resolve()
        except (OSError, ValueError):
            continue  # gone, or not ours to read
        if "snakemake" in cmdline and "claire.bench.runlock" not in cmdline and cwd == directory:
            pids.append(int(entry.name))
    return pids


def release_stale_lock(directory: str | os.PathLike = ".") -> bool:
    """Remove ``.snakemake/locks/*`` when no Snakemake runs in ``directory``; True if removed."""
    directory = Path(directory)
    locks = sorted((directory / ".snakemake" / "locks").glob("*.lock"))
    if not locks:
        return False
    running = live_snakemake_in(directory)
    if running:
        log.warning("Snakemake is running in %s (pid %s): lock kept", directory, running)
        return False
    for lock in locks:
        lock.unlink(missing_ok=True)
    log.warning("removed a stale Snakemake lock left by a killed run in %s", directory.resolve())
    return True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = sys.argv[1:] if argv is None else argv
    release_stale_lock(args[0] if args else ".")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
