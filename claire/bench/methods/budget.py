"""A time and memory budget for one integration job (the scaling experiment).

A watchdog thread measures the job's wall time and resident memory (the process and its
children, e.g. an R subprocess) every half second. When either exceeds its budget it
calls ``on_exceed(reason)`` (which records the run as over budget), stops the children
and ends the process at once: a method that would run for hours or exhaust the machine
is recorded as such instead of crashing or blocking the experiment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.5


@dataclass(frozen=True)
class Budget:
    """Limits of one job; None = no limit."""

    seconds: float | None = None
    mem_mb: float | None = None

    def __bool__(self) -> bool:
        return self.seconds is not None or self.mem_mb is not None


def _children(pid: int) -> list[int]:
    """PIDs of every descendant of ``pid`` (Linux /proc), [] elsewhere."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            kids = [int(k) for task in tasks for k in (task / "children").read_text().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb() -> float:
    """Resident memory of this process and its descendants, MB (peak of self elsewhere)."""
    if not Path("/proc/self/status").exists():
        scale = 1 / 2**20 if sys.platform == "darwin" else 1 / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    pid = os.getpid()
    return _rss_mb(pid) + sum(_rss_mb(child) for child in _children(pid))


def exceeded(budget: Budget, seconds: float, rss_mb: float) -> str | None:
    """Why a job with ``seconds`` elapsed and ``rss_mb`` resident breaks ``budget``, or None."""
    if budget.seconds is not None and seconds > budget.seconds:
        return f"over the time budget: {seconds:.0f} s > {budget.seconds:.0f} s"
    if budget.mem_mb is not None and rss_mb > budget.mem_mb:
        return f"over the memory budget: {rss_mb:.0f} MB > {budget.mem_mb:.0f} MB"
    return None


@contextlib.contextmanager
def enforced(
    budget: Budget,
    on_exceed: Callable[[str], None],
    exit_process: Callable[[int], None] = os._exit,
) -> Iterator[None]:
    """Run the body under ``budget``; on a breach call ``on_exceed`` and end the process."""
    if not budget:
        yield
        return
    done = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        while not done.wait(POLL_S):
            reason = exceeded(budget, time.monotonic() - start, tree_rss_mb())
            if reason is None:
                continue
            log.error("stopping the job: %s", reason)
            for child in _children(os.getpid()):
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            on_exceed(reason)
            logging.shutdown()
            exit_process(0)
            return

    thread = threading.Thread(target=watch, name="budget-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
