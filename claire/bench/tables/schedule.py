"""Which training schedule a run ran, next to the authors': the runtime table's ``schedule``.

The schedule-defining parameters and the authors' values are the method's registry entry
(``schedule`` in config/methods.yaml; an ablation inherits its base's). The values run are
the run's record: ``uns["integration"]["params"]`` (a parameter it does not hold ran at the
adapter's default, which is the authors' value); for CLAIRE, ``uns["claire"]`` also records
the epochs actually run when the step floor (``min_steps``) raised them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claire.bench.registry.callables import load_callable
from claire.bench.registry.methods import method_schedule

__all__ = ["method_schedule", "run_params", "schedule_text"]

NO_TRAINING = "n/a (no training)"
AUTHORS = "authors' schedule"
UNKNOWN = "unknown (method not registered)"


def run_params(uns: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a result file records (``uns["integration"]["params"]``, JSON)."""
    params = uns.get("integration", {}).get("params", "{}")
    if isinstance(params, Mapping):
        return dict(params)
    try:
        decoded = json.loads(str(params))
    except json.JSONDecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _floor_note(uns: Mapping[str, Any], param: str, nominal: int) -> str:
    """The note ', raised to N by the M-step floor' when a CLAIRE run planned more epochs."""
    stats = uns.get("claire")
    if param != "epochs" or not isinstance(stats, Mapping):
        return ""
    planned = (stats.get("schedule") or {}).get("epochs")
    min_steps = (stats.get("params") or {}).get("min_steps")
    if planned is None or int(planned) <= nominal:
        return ""
    floor = f" by the {int(min_steps)}-step floor" if min_steps else ""
    return f", raised to {int(planned)}{floor}"


def schedule_text(
    schedule: Mapping[str, Mapping[str, Any]] | None,
    params: Mapping[str, Any],
    n_cells: int | None = None,
    uns: Mapping[str, Any] | None = None,
) -> str:
    """The schedule a run ran compared with the authors', e.g. "20 of 100 epochs",
    "authors' schedule (120 epochs)", "50 epochs (authors' rule: 400)" or "n/a (no training)".

    ``schedule``: the registry's (None: unregistered); ``params``: the run's recorded
    parameters; ``n_cells``: for authors' values given by a rule of the data size; ``uns``:
    the result's uns, for the epochs a step floor added.
    """
    if schedule is None:
        return UNKNOWN
    if not schedule:
        return NO_TRAINING
    uns = uns or {}
    parts, same = [], []
    for param, entry in schedule.items():
        label = entry["label"]
        authors = entry.get("authors")
        ran = params.get(param)
        if authors is None:  # the authors' value is a rule of the data size
            rule = load_callable(entry["rule"])
            authors_here = rule(n_cells) if n_cells is not None else None
            if ran is None:
                shown = f" ({authors_here})" if authors_here is not None else ""
                same.append(f"{label} by the authors' rule{shown}")
                continue
            shown = f": {authors_here}" if authors_here is not None else ""
            parts.append(f"{int(ran)} {label} (authors' rule{shown})")
            continue
        ran = authors if ran is None else int(ran)
        note = _floor_note(uns, param, ran)
        if ran == authors and not note:
            same.append(f"{authors} {label}")
        else:
            parts.append(f"{ran} of {authors} {label}{note}")
    if not parts:
        return f"{AUTHORS} ({'; '.join(same)})"
    return "; ".join(parts + [f"{text} (authors')" for text in same])
