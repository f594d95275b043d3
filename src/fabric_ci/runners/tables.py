"""Plain-text tables that fit a terminal: the read-only commands' listings for people.

A listing of pipelines, stages or deployments has long names beside short ids and counts; when the
table is wider than the terminal, the long text columns give way (cut, with an ellipsis) and the
ids and counts stay whole, since a script or a person copies those. Widths are display columns: a
CJK character takes two, a combining mark none.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

WIDTH = 80  # what a terminal is assumed to have: the runners do not ask the terminal
GAP = "  "
ELLIPSIS = "…"
MIN_SHRUNK = 4  # a column cut below this says nothing: three characters and the ellipsis


def display_width(text: str) -> int:
    """How many terminal columns `text` takes."""
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cut(text: str, columns: int) -> str:
    """`text` in at most `columns` display columns, its end replaced by an ellipsis when cut."""
    if display_width(text) <= columns:
        return text
    kept, used = [], 0
    for char in text:
        if used + _char_width(char) > columns - 1:
            break
        kept.append(char)
        used += _char_width(char)
    return "".join(kept) + ELLIPSIS


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - display_width(text))


def fit_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    shrinkable: Sequence[int],
    width: int = WIDTH,
    indent: str = "",
) -> list[str]:
    """The header and rows as lines no wider than `width` where that can be done by cutting the
    columns in `shrinkable` (by index), the widest first, to no less than MIN_SHRUNK columns or their
    header (keep headers short); other columns are never cut, so a table of only those may stay wider."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError("every row needs one cell for each header")
    table = [list(header), *[list(row) for row in rows]]
    widths = [max(display_width(row[i]) for row in table) for i in range(len(header))]
    total = display_width(indent) + sum(widths) + len(GAP) * (len(widths) - 1)
    while total > width:
        candidates = [i for i in shrinkable if widths[i] > max(MIN_SHRUNK, display_width(header[i]))]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
        total -= 1
    return [
        (indent + GAP.join(_pad(cut(cell, w), w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in table
    ]
