"""How long CLAIRE trains: the epoch plan of a run and the paper's stopping rule.

The paper's schedule is in epochs sized for 7k-67k cells (120 epochs of Pancreas are about
7,000 optimiser steps). A dataset of 1,000 cells has 3 steps per epoch, so 120 epochs
barely train the encoder. ``min_steps`` therefore raises the number of epochs until
``epochs * steps_per_epoch >= min_steps`` (``steps_per_epoch`` counted on the stage-1
anchors; the refinement may shorten later epochs), much as scvi-tools scales its epochs
with the number of cells. On the paper's datasets the floor does not bind and nothing
changes.

When the floor stretches training by ``stretch = epochs_run / epochs``, every schedule
given in epochs (``refine_epoch``, ``lr_milestones``, ``snapshot_epochs``, the stopping
rule's window) is mapped to the same fraction of the run: epoch ``e`` becomes
``floor(e * stretch + 0.5)``. The refinement also waits for ``refine_steps`` stage-1
steps: it happens at the start of epoch ``max(mapped refine_epoch, ceil(refine_steps /
steps_per_epoch))`` (0-based, i.e. after that many epochs of training).

The refinement removes seeds, so stage 2 may have fewer anchors, hence fewer steps per
epoch, than stage 1; :func:`replan` then adds epochs until ``min_steps`` is reached and
maps the schedule after the refinement linearly onto the longer stage 2.

The stopping rule (:func:`plateau_epoch`) follows the paper's protocol: train "until the
loss plateaus or decreases by less than 0.01".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from claire.params import ClaireParams


@dataclass(frozen=True)
class Schedule:
    """The epoch plan of one run (epochs counted from 1; epoch 0 = before training)."""

    steps_per_epoch: int  # stage-1 optimiser steps per epoch
    epochs: int  # epochs to run (the cap when the stopping rule is on)
    stretch: float  # epochs / params.epochs
    refine_epoch: int | None  # seeds are refined after this many epochs (None: never)
    lr_milestones: tuple[int, ...]
    snapshot_epochs: dict[int, int]  # requested epoch -> epoch of the run
    window: int  # the stopping rule's window in epochs of the run
    min_stop_epoch: int  # the stopping rule never ends training before this epoch

    def as_dict(self) -> dict:
        return {
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "stretch": self.stretch,
            "refine_epoch": self.refine_epoch,
            "lr_milestones": list(self.lr_milestones),
            "snapshot_epochs": {str(k): v for k, v in self.snapshot_epochs.items()},
            "window": self.window,
            "min_stop_epoch": self.min_stop_epoch,
        }


def stretch_epoch(epoch: int, stretch: float) -> int:
    """Epoch ``epoch`` of the nominal schedule mapped onto a run ``stretch`` times longer
    (rounded half up, so distinct epochs stay distinct when ``stretch >= 1``)."""
    return math.floor(epoch * stretch + 0.5)


def epochs_for_steps(steps: int, steps_per_epoch: int) -> int:
    """The fewest epochs that make at least ``steps`` optimiser steps."""
    return math.ceil(steps / steps_per_epoch) if steps > 0 and steps_per_epoch > 0 else 0


def replan(
    schedule: Schedule, params: ClaireParams, steps_done: int, steps_per_epoch: int
) -> Schedule:
    """The plan once the refinement (after ``schedule.refine_epoch`` epochs and
    ``steps_done`` steps) has left ``steps_per_epoch`` steps per epoch.

    Epochs are added until ``min_steps`` steps are reached; scheduled epochs after the
    refinement are stretched by the same factor as stage 2, those before stay.
    """
    refine = schedule.refine_epoch
    if refine is None:
        return schedule
    needed = refine + epochs_for_steps(params.min_steps - steps_done, steps_per_epoch)
    epochs = max(schedule.epochs, needed)
    if epochs == schedule.epochs:
        return schedule
    factor = (epochs - refine) / (schedule.epochs - refine)

    def later(epoch: int) -> int:
        return epoch if epoch <= refine else refine + stretch_epoch(epoch - refine, factor)

    return dataclasses.replace(
        schedule,
        epochs=epochs,
        stretch=epochs / params.epochs,
        lr_milestones=tuple(later(m) for m in schedule.lr_milestones),
        snapshot_epochs={k: later(v) for k, v in schedule.snapshot_epochs.items()},
        min_stop_epoch=needed,
    )


def plan(params: ClaireParams, steps_per_epoch: int) -> Schedule:
    """The epoch plan of ``params`` for a dataset with ``steps_per_epoch`` stage-1 steps."""
    epochs = max(params.epochs, epochs_for_steps(params.min_steps, steps_per_epoch))
    stretch = epochs / params.epochs
    refine = params.refinement_epoch
    if refine is not None:
        refine = max(
            stretch_epoch(refine, stretch),
            epochs_for_steps(params.refine_steps, steps_per_epoch),
        )
        if refine >= epochs:
            refine = None
    return Schedule(
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        stretch=stretch,
        refine_epoch=refine,
        lr_milestones=tuple(stretch_epoch(m, stretch) for m in params.lr_milestones),
        snapshot_epochs={e: stretch_epoch(e, stretch) for e in params.snapshot_epochs},
        window=max(1, stretch_epoch(params.early_stop_window, stretch)),
        min_stop_epoch=epochs_for_steps(params.min_steps, steps_per_epoch),
    )


class PlateauRule:
    """The paper's stopping rule, fed one epoch's mean loss at a time.

    From epoch ``start`` on (the refinement changes the positive pairs, hence the loss),
    the mean loss of the last ``window`` epochs is compared with the mean of the
    ``window`` epochs before them; the loss "decreases by less than ``tol``" when it falls
    by less than ``tol`` per epoch between the two windows (per nominal epoch when the run
    is stretched: ``scale`` = stretch). The rule is armed only once the loss has
    decreased by at least that much, so the rise at the start of training (the queue
    filling with real keys) does not stop it; it never fires before epoch ``min_epoch``.
    """

    def __init__(
        self,
        *,
        window: int,
        tol: float = 0.01,
        start: int = 0,
        scale: float = 1.0,
        min_epoch: int = 0,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        self.window, self.tol, self.start = window, tol, start
        self.scale, self.min_epoch = scale, min_epoch
        self.losses: list[float] = []
        self.armed = False

    def update(self, loss: float) -> bool:
        """Record the next epoch's loss; True when training should stop after it."""
        self.losses.append(float(loss))
        end, w = len(self.losses), self.window
        if end < self.start + 2 * w:
            return False
        before = sum(self.losses[end - 2 * w : end - w]) / w
        last = sum(self.losses[end - w : end]) / w
        if (before - last) / (w / self.scale) >= self.tol:
            self.armed = True
            return False
        return self.armed and end >= self.min_epoch


def plateau_epoch(losses: Sequence[float], **rule: float) -> int | None:
    """First epoch (1-based) at which :class:`PlateauRule` (``rule`` = its keywords)
    stops a run whose epoch losses are ``losses``, or None."""
    stopper = PlateauRule(**rule)
    for epoch, loss in enumerate(losses, start=1):
        if stopper.update(loss):
            return epoch
    return None
