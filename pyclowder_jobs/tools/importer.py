"""Read Clowder exports into the store: v1 ``extractions``, v2 ``listener_jobs`` and ``listener_job_updates``.

Accepts mongoexport's JSON lines (the default) or a JSON array (``--jsonArray``), in Mongo extended
JSON (``$oid``, ``$date`` as ISO text or ``{"$numberLong": ...}``): the fold reads those as they
are.  A line that is not JSON, or a document the fold cannot use, is reported with its line number
and the rest is imported.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from pyclowder_jobs.server import normalise
from pyclowder_jobs.tools.store import Store

#: How many documents go into one transaction.
BATCH = 5000
#: How many refused lines are listed one by one in the summary (all are counted).
LISTED = 20

_decoder = json.JSONDecoder()


@dataclass
class ImportSummary:
    """What an import did: counts, and the refused lines with their numbers and reasons."""

    read: int = 0
    imported: int = 0
    duplicates: int = 0
    refused: List[Tuple[int, str]] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)

    def refuse(self, line: int, reason: str) -> None:
        """Count a refused line; the first ones are kept with their numbers."""
        self.reasons[reason] += 1
        if len(self.refused) < LISTED:
            self.refused.append((line, reason))

    @property
    def refused_count(self) -> int:
        """All refused lines, listed or not."""
        return sum(self.reasons.values())


Found = Tuple[int, Union[Any, ValueError], int]


def documents(stream: IO[str]) -> Iterator[Found]:
    """(line number, document or the error it raised, characters read so far) for JSON lines or an array."""
    first = stream.read(1)
    skipped = 0
    while first and first.isspace():
        skipped += 1
        first = stream.read(1)
    if first == "[":
        yield from _array(first + stream.read(), skipped)
        return
    offset = skipped
    for number, line in enumerate(_prefixed(first, stream), start=1):
        offset += len(line)
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), offset
        except (ValueError, RecursionError) as exc:
            yield number, exc, offset


def _prefixed(first: str, stream: IO[str]) -> Iterator[str]:
    """The stream's lines, the first one with the character already read put back."""
    lines = iter(stream)
    yield first + next(lines, "")
    yield from lines


def _array(text: str, skipped: int) -> Iterator[Found]:
    """The elements of a JSON array, one by one, so that a bad one does not lose the others."""
    position, end = 1, len(text)
    line, counted = 1, 0
    while position < end:
        while position < end and text[position] in " \t\r\n,":
            position += 1
        if position >= end or text[position] == "]":
            return
        line += text.count("\n", counted, position)
        counted = position
        try:
            document, position = _decoder.raw_decode(text, position)
            yield line, document, skipped + position
        except (ValueError, RecursionError) as exc:
            yield line, exc, skipped + position
            following = text.find("\n", position)  # go on with the next line
            if following < 0:
                return
            position = following + 1


def import_file(store: Store, path: Union[str, os.PathLike], *,
                progress: Optional[Callable[[int, int], None]] = None) -> ImportSummary:
    """Import one export file into ``store``; ``progress(bytes read, total bytes)`` after each batch."""
    summary = ImportSummary()
    total = os.path.getsize(path)
    batch: List[Any] = []
    with open(path, encoding="utf-8-sig", errors="replace") as stream:
        for number, found, offset in documents(stream):
            summary.read += 1
            if isinstance(found, ValueError):
                summary.refuse(number, "not JSON (%s)" % _first_line(found))
                continue
            reason = normalise(found)
            if isinstance(reason, str):
                summary.refuse(number, reason)
                continue
            batch.append(found)
            if len(batch) >= BATCH:
                _commit(store, batch, summary)
                if progress is not None:
                    progress(min(offset, total), total)
        _commit(store, batch, summary)
    if progress is not None:
        progress(total, total)
    return summary


def _commit(store: Store, batch: List[Any], summary: ImportSummary) -> None:
    if batch:
        new = store.add_events(batch)
        summary.imported += new
        summary.duplicates += len(batch) - new
        batch.clear()


def _first_line(error: ValueError) -> str:
    """The decoder's message without its position (the line number says where)."""
    return getattr(error, "msg", None) or str(error).splitlines()[0] or type(error).__name__


def describe(summary: ImportSummary) -> Dict[str, Any]:
    """The summary as JSON-ready data."""
    return {"read": summary.read, "imported": summary.imported, "duplicates": summary.duplicates,
            "refused": summary.refused_count, "reasons": dict(summary.reasons),
            "refused_lines": [{"line": line, "reason": reason} for line, reason in summary.refused]}
