"""Figure registry: a report figure is one plot function plus one entry.

An entry (``config/figures.yaml``, plus any extra files named by the config's
``figure_registry``) gives the figure's name (results/figures/<name>.{png,pdf}), its plot
function (``"module:callable"`` or ``"path/to/file.py:callable"``), the tables it reads
(results/tables/<table>.csv), the report category and label, which methods it shows, and a
caption template; ``optional`` names the experiment (sensitivity, scaling) a figure
belongs to, drawn only when it runs. The workflow derives one rule per entry
(``plot_<name>``) and the report's target list from the registry (workflow/rules/report.smk,
targets.smk).

The plot function is called as ``function(tables, methods=[...], labels={...})`` with
``tables`` a mapping of table name to DataFrame, and returns a matplotlib Figure.

Captions name metrics through the metric registry, never by hand: ``{basw}`` becomes the
metric's label (``bASW``), ``{batch_metrics}`` / ``{bio_metrics}`` the labels of the metrics
in S_batch / S_bio joined with "and", ``{curve_metrics}`` those of the training curves
and the sensitivity grid, ``{f1}`` / ``{s_batch}`` / ``{s_bio}`` the score labels.
Only PyYAML besides the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claire.bench.registry import metrics
from claire.bench.registry.entries import (
    check_caption,
    check_keys,
    optional_experiment,
    read_entries,
)

DEFAULT_FIGURES = Path(__file__).resolve().parents[3] / "config" / "figures.yaml"
METHOD_SETS = ("all", "paper")  # paper: the control methods left out (the paper's F1)
EXPERIMENTS = ("sensitivity", "scaling")  # optional experiments: their figures are conditional
_KEYS = {"function", "tables", "category", "label", "caption", "methods", "optional"}


class FigureRegistryError(ValueError):
    """A figure registry entry is invalid."""


@dataclass(frozen=True)
class FigureSpec:
    """One figure registry entry (see config/figures.yaml)."""

    name: str
    function: str
    tables: tuple[str, ...]
    category: str
    label: str
    caption: str
    methods: str = "all"
    optional: str | None = None  # an experiment of EXPERIMENTS: drawn only when it runs

    @property
    def caption_text(self) -> str:
        return caption_text(self.caption)


def _joined(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def caption_fields(metric_list: Iterable[metrics.Metric] | None = None) -> dict[str, str]:
    """The names a caption template may use and their text, from the metric registry."""
    metric_list = tuple(metrics.METRICS if metric_list is None else metric_list)
    fields = {m.name: m.label for m in metric_list} | dict(metrics.SCORE_LABELS)
    for group in ("batch", "bio"):
        scored = [m.label for m in metric_list if m.in_score and m.group == group]
        if scored:
            fields[f"{group}_metrics"] = _joined(scored)
    curve = [m.label for m in metric_list if m.curve]
    if curve:
        fields["curve_metrics"] = _joined(curve)
    return fields


def caption_text(template: str, metric_list: Iterable[metrics.Metric] | None = None) -> str:
    """The caption with every ``{name}`` replaced from :func:`caption_fields`."""
    try:
        return template.format_map(caption_fields(metric_list))
    except KeyError as error:
        raise FigureRegistryError(
            f"caption names {error.args[0]!r}, which is neither a metric nor a score"
        ) from None


def figure_spec(name: str, entry: Mapping[str, Any]) -> FigureSpec:
    """Check one entry (and its caption) and return its :class:`FigureSpec`."""
    required = {"function", "tables", "category", "caption"}
    check_keys("figure", name, entry, _KEYS, required, FigureRegistryError)
    if ":" not in str(entry["function"]):
        raise FigureRegistryError(f"figure {name!r}: function must be 'module:callable'")
    methods = entry.get("methods", "all")
    if methods not in METHOD_SETS:
        raise FigureRegistryError(f"figure {name!r}: methods must be one of {METHOD_SETS}")
    optional = optional_experiment("figure", name, entry, EXPERIMENTS, FigureRegistryError)
    spec = FigureSpec(
        name=name,
        function=str(entry["function"]),
        tables=tuple(entry["tables"]),
        category=str(entry["category"]),
        label=str(entry.get("label", name)),
        caption=str(entry["caption"]).strip(),
        methods=methods,
        optional=optional,
    )
    check_caption("figure", name, spec, FigureRegistryError)
    return spec


def load_figures(extra: Iterable[str | os.PathLike] = ()) -> dict[str, FigureSpec]:
    """The built-in figures (config/figures.yaml) with the entries of ``extra`` files added
    or replacing built-in ones, in file order."""
    entries = read_entries("figure", (DEFAULT_FIGURES, *extra), FigureRegistryError)
    return {name: figure_spec(name, entry) for name, entry in entries.items()}
