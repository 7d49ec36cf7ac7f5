"""Saved CLAIRE models: one ``torch.save`` file with the network's weights, the
hyper-parameters, the training genes and the package version that wrote it.

Files load with ``torch.load(weights_only=True)`` (tensors and plain Python values
only, no pickled code). A file written by another version of ``claire`` is refused with
a message naming both versions: retrain, or load it with the version that wrote it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from claire import __version__
from claire.model import MoCo
from claire.params import ClaireParams
from claire.train import new_network

FORMAT = "claire-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """The content of a saved model file."""

    state_dict: dict[str, torch.Tensor]
    params: ClaireParams
    preset: str
    genes: list[str]
    claire_version: str
    torch_version: str

    def build(self, device: torch.device | str = "cpu") -> MoCo:
        """The network with the saved weights, in eval mode, on ``device``."""
        with torch.random.fork_rng(devices=[]):  # weight init must not move the caller's RNG
            model = new_network(len(self.genes), self.params)
        model.load_state_dict(self.state_dict)
        return model.eval().to(device)


def save(
    path: str | Path, model: MoCo, params: ClaireParams, preset: str, genes: list[str]
) -> Path:
    """Write ``model`` (weights on CPU) and what is needed to use it to ``path``, atomically."""
    path = Path(path)
    if len(genes) != model.n_genes:
        raise ValueError(f"{len(genes)} gene names for a model of {model.n_genes} genes")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "claire_version": __version__,
        "torch_version": str(torch.__version__),
        "preset": preset,
        "params": params.as_dict(),
        "genes": [str(g) for g in genes],
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp_name)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def load(path: str | Path) -> Checkpoint:
    """Read and check a file written by :func:`save`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CLAIRE model file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or damaged files
        raise ValueError(f"{path} is not a CLAIRE model file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a CLAIRE model file (saved by Claire.save)")
    saved = payload.get("claire_version")
    if saved != __version__ or payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved by claire {saved} (model format {payload.get('format_version')}); "
            f"this is claire {__version__} (format {FORMAT_VERSION}): retrain the model, or "
            f"load it with claire {saved}"
        )
    genes = list(payload["genes"])
    n_inputs = payload["state_dict"]["encoder_q.net.0.weight"].shape[1]
    if len(genes) != n_inputs or len(set(genes)) != len(genes):
        raise ValueError(
            f"{path}: {len(genes)} gene names ({len(set(genes))} distinct) for a network "
            f"of {n_inputs} input genes"
        )
    return Checkpoint(
        state_dict=payload["state_dict"],
        params=ClaireParams.from_dict(payload["params"]),
        preset=payload["preset"],
        genes=genes,
        claire_version=saved,
        torch_version=payload["torch_version"],
    )
