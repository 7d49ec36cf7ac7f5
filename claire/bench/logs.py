"""Logging setup shared by the workflow scripts and the command line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send log records (and warnings) to ``log_path`` and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        os.makedirs(os.path.dirname(os.fspath(log_path)) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)


def run_logged(main: Callable[[], None], log_path: str | os.PathLike | None) -> None:
    """Run a workflow script's ``main`` with logging set up; log any failure, then re-raise."""
    setup_logging(log_path)
    try:
        main()
    except Exception:
        logging.getLogger("claire.workflow").exception("job failed")
        raise
