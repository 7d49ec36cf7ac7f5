"""CLAIRE's hyper-parameters (:class:`ClaireParams`), the ablation variants and presets.

Defaults are the paper's (section 2.5, DESIGN.md section 3) plus a floor on the number of
optimiser steps for small data (``min_steps``, ``refine_steps``; see claire.schedule).
Validation happens at construction so that a bad configuration fails before any work.

Presets (:data:`PRESETS`, ``ClaireParams.preset(name)``, ``Claire(preset=name)``):

- ``"default"``: the class defaults.
- ``"paper"``: the paper's schedule exactly, in epochs (no step floor).
- ``"reference"``: what the authors' code (CSUBioGroup/CLAIRE-release, main.py) does where
  it departs from the paper: temperature 0.07, a ReLU before the L2 norm, a queue that
  starts at zeros, the refinement keeping the GMM's majority component, no step floor.
  Its sampling of anchors and partners is the paper's and ours (anchors = cells with
  seeds, a random seed partner, a random intra-batch KNN of each, lambda ~ U(alpha, 1)),
  except that its DataLoader drops the last partial batch, so data with fewer anchors
  than ``batch_size`` get no step at all there (here: one smaller batch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from claire.model import QUEUE_INITS
from claire.neighbors import EXACT_LIMIT
from claire.refine import COMPONENTS as GMM_COMPONENTS

VARIANTS = ("full", "var1", "var2")  # CLAIRE and its two ablations (paper section 3.5)
DEFAULT_MIN_STEPS = 600  # see claire.schedule and benchmarks/claire_small_data.py
DEFAULT_REFINE_STEPS = 50
# Seurat's k.filter of 200 cells is 10 % of a 2,000-cell batch; in smaller batches the
# filter keeps a pair only if its cells are within 10 % of the batch (None: 200 always).
DEFAULT_K_FILTER_SHARE = 0.1


@dataclass(frozen=True)
class ClaireParams:
    """Hyper-parameters; defaults are the paper's (section 2.5, DESIGN.md section 3)."""

    epochs: int = 120
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-5
    lr_milestones: tuple[int, ...] = ()  # epochs at which lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    temperature: float = 0.1  # paper 0.1, reference code 0.07
    momentum: float = 0.999
    queue_size: int = 2048
    latent_dim: int = 128
    dropout: float = 0.3
    relu_before_norm: bool = False  # reference code: True
    queue_init: str = "random"  # reference code: "zeros"
    alpha: float = 0.5
    knn: int = 10
    k_anchor: int = 5
    k_filter: int | None = 200  # Seurat's anchor filter; None = keep every MNN pair
    k_filter_share: float | None = DEFAULT_K_FILTER_SHARE  # cap: share of the batch
    n_cca: int = 30
    n_pcs: int = 50
    variant: str = "full"  # "var1": no construction strategy, "var2": no refinement
    refine_epoch: int | None = 4  # None: no refinement
    refine_steps: int = DEFAULT_REFINE_STEPS  # refine after >= this many stage-1 steps
    eta: float = 0.5
    gmm_component: str = "higher_mean"  # reference code: "majority"
    min_steps: int = DEFAULT_MIN_STEPS  # epochs are raised to make >= this many steps
    early_stop: bool = False  # the paper's rule: stop when the loss plateaus
    early_stop_tol: float = 0.01  # loss decrease per epoch below which it has plateaued
    early_stop_window: int = 5  # epochs per window of the stopping rule
    snapshot_epochs: tuple[int, ...] = ()
    exact_knn_limit: float = EXACT_LIMIT
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("lr_milestones", "snapshot_epochs"):
            object.__setattr__(self, name, tuple(int(e) for e in getattr(self, name) or ()))
        positive = ("epochs", "batch_size", "queue_size", "latent_dim", "knn", "k_anchor")
        for name in (*positive, "n_cca", "n_pcs", "early_stop_window"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        checks = {
            "lr": self.lr > 0,
            "weight_decay": self.weight_decay >= 0,
            "lr_gamma": self.lr_gamma > 0,
            "temperature": self.temperature > 0,
            "momentum": 0 <= self.momentum < 1,
            "dropout": 0 <= self.dropout < 1,
            "alpha": 0 <= self.alpha <= 1,
            "eta": 0 <= self.eta <= 1,
            "seed": self.seed >= 0,
            "min_steps": self.min_steps >= 0,
            "refine_steps": self.refine_steps >= 0,
            "early_stop_tol": self.early_stop_tol >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"invalid {name}: {getattr(self, name)}")
        for name, allowed in (
            ("variant", VARIANTS),
            ("queue_init", QUEUE_INITS),
            ("gmm_component", GMM_COMPONENTS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.k_filter_share is not None and not 0 < self.k_filter_share <= 1:
            share = self.k_filter_share
            raise ValueError(f"k_filter_share must lie in (0, 1] or be None, got {share}")
        if self.k_filter is not None and self.k_filter < 1:
            raise ValueError(f"k_filter must be >= 1 or None, got {self.k_filter}")
        if self.refine_epoch is not None and self.refine_epoch < 1:
            raise ValueError(f"refine_epoch must be >= 1 or None, got {self.refine_epoch}")
        bad = [e for e in self.snapshot_epochs if not 0 <= e <= self.epochs]
        if bad:
            raise ValueError(f"snapshot_epochs {bad} outside [0, epochs={self.epochs}]")

    @classmethod
    def from_dict(cls, values: Mapping) -> ClaireParams:
        """Build from a mapping (e.g. a config block); unknown keys are an error.

        A ``preset`` key names the preset that the other keys override.
        """
        values = dict(values)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known - {"preset"})
        if unknown:
            raise ValueError(f"unknown CLAIRE parameter(s) {unknown}; known: {sorted(known)}")
        return cls.preset(values.pop("preset", None) or "default", **values)

    @classmethod
    def preset(cls, name: str, **overrides: object) -> ClaireParams:
        """The parameters of preset ``name`` (see :data:`PRESETS`), with ``overrides``."""
        if name not in PRESETS:
            raise ValueError(f"unknown CLAIRE preset {name!r}; known: {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    @property
    def construction(self) -> bool:
        """Whether positives are built by the mixup construction strategy (not var1)."""
        return self.variant != "var1"

    @property
    def refinement_epoch(self) -> int | None:
        """Epoch at which seeds are refined, or None (var2, or refine_epoch None)."""
        return None if self.variant == "var2" else self.refine_epoch

    def as_dict(self) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


PAPER = {"min_steps": 0, "refine_steps": 0, "k_filter_share": None}
PRESETS: dict[str, dict[str, object]] = {
    "default": {},
    "paper": PAPER,
    "reference": {
        **PAPER,
        "temperature": 0.07,
        "relu_before_norm": True,
        "queue_init": "zeros",
        "gmm_component": "majority",
    },
}
