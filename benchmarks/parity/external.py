"""The authors' side in another interpreter (TensorFlow / Keras code: INSCT, DESC).

Their code needs TensorFlow, which is not in the project's environment; it runs in a
separate virtualenv (``--authors-python``, e.g. ``/work/tfenv/bin/python``; see
docs/parity-competitors.md). :func:`run_driver` writes the inputs as an ``.npz`` into a
temporary folder, runs a driver script of ``benchmarks/parity/drivers/`` with that
interpreter (the driver imports only NumPy, scanpy and the patched authors' code) and
reads back its ``.npz`` answer: per-epoch losses, embeddings at the evaluation epochs
(``emb_<epoch>``), the training's wall and CPU seconds, and notes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from benchmarks.parity.common import ParityRun

log = logging.getLogger("competitor_parity")

DRIVERS = Path(__file__).resolve().parent / "drivers"
ENV_PYTHON = "PARITY_AUTHORS_PYTHON"


def authors_python() -> Path:
    """The interpreter of the authors' environment (``$PARITY_AUTHORS_PYTHON``, set by
    ``competitor_parity.py --authors-python``)."""
    value = os.environ.get(ENV_PYTHON)
    if not value:
        raise SystemExit(
            f"the authors' side needs --authors-python (or ${ENV_PYTHON}): a Python with "
            "TensorFlow, see docs/parity-competitors.md"
        )
    path = Path(value)
    if not path.exists():
        raise SystemExit(f"--authors-python {path}: not found")
    return path


def run_driver(
    driver: str,
    code: Path,
    arrays: dict[str, np.ndarray],
    params: dict[str, object],
    seed: int,
    inspect: Callable[[Mapping[str, np.ndarray]], list[str]] | None = None,
    timeout: float | None = None,
) -> ParityRun:
    """Run ``drivers/<driver>.py`` on ``arrays`` with ``params`` (JSON) in the authors'
    interpreter; ``code`` is the patched authors' copy the driver imports from.
    ``inspect`` turns the driver's other output arrays into notes."""
    with tempfile.TemporaryDirectory(prefix=f"parity_{driver}_") as tmp:
        folder = Path(tmp)
        plain = {k: v.astype(str) if v.dtype == object else v for k, v in arrays.items()}
        np.savez(folder / "input.npz", **plain)  # no pickled object arrays
        (folder / "params.json").write_text(json.dumps({**params, "seed": seed}))
        env = {
            **os.environ,
            "PYTHONHASHSEED": str(seed),  # the authors' set / dict orders of cell names
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(code),
        }
        command = [str(authors_python()), str(DRIVERS / f"{driver}.py"), str(folder)]
        with open(folder / "driver.log", "w") as out:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
            )
        text = (folder / "driver.log").read_text()
        if done.returncode != 0:
            raise RuntimeError(f"{driver} failed ({done.returncode}):\n{text[-4000:]}")
        log.debug("%s log:\n%s", driver, text)
        answer = np.load(folder / "output.npz", allow_pickle=False)
        run = ParityRun(
            losses=[float(v) for v in answer["losses"]],
            embeddings={
                int(k.split("_", 1)[1]): np.asarray(answer[k], dtype=np.float32)
                for k in answer.files
                if k.startswith("emb_")
            },
            seconds=float(answer["seconds"]),
            cpu_seconds=float(answer["cpu_seconds"]),
            notes=[str(n) for n in answer["notes"]],
        )
        if inspect is not None:
            run.notes += inspect({k: answer[k] for k in answer.files})
        for key in answer.files:
            if key.startswith("extra_"):
                run.extra[key[len("extra_") :]] = [float(v) for v in answer[key]]
    return run
