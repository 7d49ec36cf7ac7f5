#!/usr/bin/env bash
# CUDA against CPU for CLAIRE and every GPU-capable method on 15k simulated cells
# (benchmarks/gpu_check.py); needs an NVIDIA GPU and the project installed (make install,
# or a virtualenv with a CUDA build of torch). Extra arguments go to the Python script.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$python" benchmarks/gpu_check.py "$@"
