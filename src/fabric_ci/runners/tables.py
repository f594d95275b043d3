"""Plain-text tables that fit a terminal: the discovery commands' listings (issue 13) for people.

A listing of pipelines, stages or deployments has long names beside short ids and counts; when the
table is wider than the terminal, the long text columns give way (cut, with an ellipsis) and the
ids and counts stay whole, since a script or a person copies those.
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH = 80  # what a terminal is assumed to have: the runners do not ask the terminal
GAP = "  "
ELLIPSIS = "…"
MIN_SHRUNK = 4  # a column cut below this says nothing: three characters and the ellipsis


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def fit_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    shrinkable: Sequence[int],
    width: int = WIDTH,
    indent: str = "",
) -> list[str]:
    """The header and rows as lines no wider than `width` where that can be done by cutting the
    columns in `shrinkable` (by index) to no less than MIN_SHRUNK characters, the widest first;
    other columns are never cut, so a table of only those may stay wider."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError("every row needs one cell for each header")
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    total = len(indent) + sum(widths) + len(GAP) * (len(widths) - 1)
    while total > width:
        candidates = [i for i in shrinkable if widths[i] > max(MIN_SHRUNK, len(header[i]))]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
        total -= 1
    return [
        (indent + GAP.join(_cut(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in table
    ]
