"""Logging setup shared by the workflow scripts and the command line.

One error, one place: a failing workflow script logs its traceback to the job's log file
only, then one line ``<rule> (<wildcards>) failed: <Error>: <why>`` to the log and to
stderr (which Snakemake shows), and exits with status 1 without a second traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# ``log.error(..., extra=FILE_ONLY)``: the record goes to the log file, not to stderr
# (tracebacks: Snakemake's output keeps one line per failure).
FILE_ONLY = {"file_only": True}


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "file_only", False)


def setup_logging(log_path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send log records (and warnings) to ``log_path`` and to stderr (except FILE_ONLY ones,
    unless there is no log file)."""
    stderr = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [stderr]
    if log_path is not None:
        stderr.addFilter(_not_file_only)
        os.makedirs(os.path.dirname(os.fspath(log_path)) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)


def one_line(error: BaseException) -> str:
    """``<Error>: <message>`` on one line (a multi-line message joined with " / ")."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {' / '.join(lines)}" if lines else type(error).__name__


def current_job() -> str:
    """The Snakemake job this script runs, e.g. ``raw_data (dataset=kang)``; "script"
    outside Snakemake (Snakemake's ``script:`` puts a ``snakemake`` object in __main__)."""
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    if job is None:
        return "script"
    wildcards = ", ".join(f"{k}={v}" for k, v in dict(job.wildcards.items()).items())
    return f"{job.rule} ({wildcards})" if wildcards else str(job.rule)


def run_logged(main: Callable[[], None], log_path: str | os.PathLike | None) -> None:
    """Run a workflow script's ``main`` with logging set up. On failure: the traceback to
    the log file, then one line saying what failed and why (log and stderr), exit 1."""
    setup_logging(log_path)
    try:
        main()
    except Exception as error:
        log = logging.getLogger("claire.workflow")
        log.error("traceback of the failure:", exc_info=True, extra=FILE_ONLY)
        log.error("%s failed: %s", current_job(), one_line(error))
        raise SystemExit(1) from None
