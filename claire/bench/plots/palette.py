"""Colours and display names shared by every benchmark figure.

A method keeps the same colour in every figure of a run: colours are assigned from
one ordered method list (CLAIRE always first, in its fixed highlight colour). Display
names come from the workflow (``labels``: method -> name) or else from the method
registry (:func:`claire.bench.registry.methods.display_name`, label-informed methods marked †).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from claire.bench.registry.methods import display_name

HIGHLIGHT_METHOD = "claire"
HIGHLIGHT_COLOUR = "#D55E00"  # Okabe-Ito vermillion, reserved for CLAIRE

# Okabe-Ito (colour-blind safe) first, then Tableau colours for long method lists.
_OTHER_COLOURS = (
    "#0072B2",
    "#009E73",
    "#E69F00",
    "#56B4E9",
    "#CC79A7",
    "#7F7F7F",
    "#000000",
    "#8C564B",
    "#9467BD",
    "#BCBD22",
    "#17BECF",
    "#AEC7E8",
    "#98DF8A",
    "#C5B0D5",
    "#C49C94",
    "#F7B6D2",
    "#DBDB8D",
    "#9EDAE5",
)

# Fixed colours for categorical labels in UMAPs (cell types, batches).
CATEGORY_COLOURS = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#AEC7E8",
    "#FFBB78",
    "#98DF8A",
    "#FF9896",
    "#C5B0D5",
    "#C49C94",
    "#F7B6D2",
    "#C7C7C7",
    "#DBDB8D",
    "#9EDAE5",
)


def order_methods(methods: Iterable[str]) -> list[str]:
    """Unique methods in first-seen order, with CLAIRE (if present) moved to the front."""
    unique = list(dict.fromkeys(str(m) for m in methods))
    if HIGHLIGHT_METHOD in unique:
        unique.remove(HIGHLIGHT_METHOD)
        unique.insert(0, HIGHLIGHT_METHOD)
    return unique


def method_palette(methods: Iterable[str]) -> dict[str, str]:
    """Map each method to a hex colour; CLAIRE gets the highlight colour."""
    palette: dict[str, str] = {}
    others = iter(_cycle(_OTHER_COLOURS))
    for method in order_methods(methods):
        palette[method] = HIGHLIGHT_COLOUR if method == HIGHLIGHT_METHOD else next(others)
    return palette


def category_palette(categories: Iterable[str]) -> dict[str, str]:
    """Map categorical labels (in the given order) to colours, cycling when there are many."""
    colours = _cycle(CATEGORY_COLOURS)
    return {str(c): next(colours) for c in dict.fromkeys(categories)}


def method_labels(
    methods: Iterable[str], labels: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Display name of each method for axes and legends: ``labels`` first, else the registry."""
    labels = labels or {}
    return {str(m): str(labels[m]) if m in labels else display_name(str(m)) for m in methods}


def is_highlighted(method: str) -> bool:
    """Whether the method is drawn emphasised (CLAIRE)."""
    return method == HIGHLIGHT_METHOD


def _cycle(colours: tuple[str, ...]):
    while True:
        yield from colours
