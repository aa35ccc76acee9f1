"""What the terminal tools print: stored text as plain text, and tables that fit the terminal.

Every id, name, message and host the tools show comes from extractors or Clowder's documents, so
it may hold rich markup (``[/bold]``) or terminal escape sequences (OSC 52 writes the clipboard,
OSC 0 the window title, OSC 8 makes links, CSI ``2J`` clears the screen).  :func:`clean` strips
control characters and escape sequences, :func:`text` makes a ``rich.text.Text`` of the result
(never markup), and every table cell and printed line of stored text goes through them.

:func:`fitted_table` builds a table whose columns fit a width: each column is as wide as its
widest cell and never narrower than its header; when they do not all fit, the least important
give way first (``wide`` shows them all).
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any, Dict, Iterable, NamedTuple, Optional, Sequence, Tuple

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

#: Colours of statuses in every table.
STYLES = {"SUCCEEDED": "green", "FAILED": "red", "LOST": "bold red", "SKIPPED": "yellow",
          "CANCELLED": "yellow", "RESUBMITTED": "magenta", "PROCESSING": "cyan", "STARTED": "cyan",
          "SUBMITTED": "blue", "TIMED OUT": "bold red"}

#: Escape sequences, ESC-introduced or as 8-bit C1 controls: strings (OSC, DCS, SOS, PM, APC) up to
#: their terminator (BEL or ST) or the end of the text, CSI with its parameters, and the other
#: escapes with their intermediate and final bytes.
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?",
    re.DOTALL)
#: Controls left once the sequences are gone (C0 but tab and line feed, DEL, C1), and the Unicode
#: controls that reorder what follows them on screen (bidirectional embeddings, overrides, isolates).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Halves of UTF-16 surrogate pairs, alone: they cannot be written as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value: Any, *, lines: bool = False) -> str:
    """``value`` as text fit for a terminal: escape sequences and control characters removed, lone
    surrogates replaced by U+FFFD, tabs (and line breaks, unless ``lines``) made spaces."""
    if value is None:
        return ""
    found = value if isinstance(value, str) else str(value)
    if found.isprintable():
        # Speed: nearly all stored text has nothing to strip; returning it here cleans ids, statuses
        # and messages 7 to 8 times faster than the substitutions below (measured with timeit).
        return found
    found = _SEQUENCE.sub("", found).replace("\r\n", "\n").replace("\t", " ")
    if not lines:
        found = found.replace("\n", " ")
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", found))


def text(value: Any, style: str = "", *, lines: bool = False) -> Text:
    """``value`` cleaned (:func:`clean`) as a rich ``Text``: printed as it reads, never as markup."""
    return Text(clean(value, lines=lines), style=style)


def one_line(value: Any) -> Text:
    """A text kept on one line, cut with an ellipsis where its column ends."""
    return Text(clean(value), overflow="ellipsis", no_wrap=True)


def status_text(status: Any) -> Text:
    """A status in its colour."""
    shown = clean(status)
    return Text(shown, style=STYLES.get(shown.split(" (")[0], ""))


def short(worker: Any) -> str:
    """A worker's label in every view: the first 8 characters of its id (its heartbeat's ``id``)."""
    return clean(worker)[:8]


def progress_cell(job: Dict[str, Any]) -> RenderableType:
    """A bar with ``done/total unit`` when the job reports a total, else its last message."""
    progress = job.get("progress") or {}
    done, total = progress.get("done"), progress.get("total")
    if isinstance(done, (int, float)) and isinstance(total, (int, float)) and total > 0:
        table = Table.grid(padding=(0, 1))
        label = "%g/%g" % (done, total) + (" %s" % clean(progress["unit"]) if progress.get("unit") else "")
        table.add_row(ProgressBar(total=total, completed=min(done, total), width=12), Text(label))
        return table
    return one_line(job.get("message"))


class Column(NamedTuple):
    """A column of a fitted table.

    ``rank`` 0 is always shown; when the columns do not fit, the highest rank gives way first.
    ``wraps`` (least, most) makes a column of free text: it may be narrowed to ``least`` (its text
    wraps) and takes at most ``most``; other columns are exactly as wide as their widest cell.
    """

    name: str
    rank: int = 0
    justify: str = "left"
    wraps: Optional[Tuple[int, int]] = None


class FittedTable(Table):
    """A rich table that knows the width its columns were fitted to (``needed``)."""

    needed: int = 0


def _frame(count: int) -> int:
    """Width a table adds to ``count`` columns: a space either side of each cell, a rule between
    columns and one at each edge."""
    return 3 * count + 1


_MEASURER = Console(file=StringIO(), width=10000)


def _cell(value: Any) -> RenderableType:
    return value if isinstance(value, (Text, Table)) else text(value)


def _plain(cell: RenderableType) -> str:
    """A cell's text, or a mark for a cell that is not text (it shows something)."""
    return cell.plain.strip() if isinstance(cell, Text) else "\u25a0"


def fitted_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, width: Optional[int],
                 title: str = "") -> FittedTable:
    """A table of ``rows`` with the ``columns`` that fit in ``width`` (all of them when ``width`` is None).

    Cells that are not already ``Text`` or a table go through :func:`text`. A caption names the
    columns left out.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    options = _MEASURER.options
    widest = [len(column.name) for column in columns]
    for row in cells:
        for index, cell in enumerate(row):
            widest[index] = max(widest[index], Measurement.get(_MEASURER, options, cell).maximum)
    least = [widest[index] if column.wraps is None else max(len(column.name), min(widest[index], column.wraps[0]))
             for index, column in enumerate(columns)]
    kept = list(range(len(columns)))
    if width is not None:
        # columns with nothing in them give way before any other
        empty = [widest[index] == len(column.name) and all(not _plain(row[index]) for row in cells)
                 for index, column in enumerate(columns)]
        while sum(least[index] for index in kept) + _frame(len(kept)) > width:
            droppable = [index for index in kept if columns[index].rank > 0]
            if not droppable:
                break
            kept.remove(max(droppable, key=lambda index: (empty[index], columns[index].rank, index)))
    widths = {index: least[index] for index in kept}
    room = None if width is None else width - sum(widths.values()) - _frame(len(kept))
    for index in kept:
        wraps = columns[index].wraps
        if wraps is not None:
            most = max(least[index], min(widest[index], wraps[1]))
            grow = most - widths[index] if room is None else max(0, min(most - widths[index], room))
            widths[index] += grow
            room = None if room is None else room - grow
    hidden = [columns[index].name for index in range(len(columns)) if index not in kept]
    table = FittedTable(title=Text(title) if title else None, title_justify="left",
                  caption=Text("not shown: %s (--wide)" % ", ".join(hidden)) if hidden else None,
                  caption_justify="left", caption_style="dim", box=box.HEAVY_HEAD)
    for index in kept:
        column = columns[index]
        table.add_column(column.name, justify=column.justify, width=widths[index], no_wrap=column.wraps is None,
                         overflow="fold")
    for row in cells:
        table.add_row(*(row[index] for index in kept))
    table.needed = sum(widths.values()) + _frame(len(kept))
    return table


def needed_width(renderable: Any) -> int:
    """The width of the widest fitted table in ``renderable`` or the groups it holds (0 when there is none)."""
    if isinstance(renderable, FittedTable):
        return renderable.needed
    if isinstance(renderable, Group):
        return max([needed_width(part) for part in renderable.renderables] + [0])
    return 0


def print_fitted(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable``, widening ``console`` first when one of its fitted tables needs more room
    (every column shown with ``--wide``: the lines run past the window rather than cut ids)."""
    needed = needed_width(renderable)
    if needed > console.width:
        console.width = needed
    console.print(renderable)


def counted(count: int, noun: str) -> str:
    """``1 job``, ``2 jobs``."""
    return "%d %s%s" % (count, noun, "" if count == 1 else "s")
