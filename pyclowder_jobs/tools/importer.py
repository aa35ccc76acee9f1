"""Read Clowder exports into the store: v1 ``extractions``, v2 ``listener_jobs`` and ``listener_job_updates``.

Accepts mongoexport's JSON lines (the default) or a JSON array (``--jsonArray``, pretty or on one
line), in Mongo extended JSON (``$oid``, ``$date`` as ISO text or ``{"$numberLong": ...}``): the
fold reads those as they are.  The file is read a megabyte at a time, so that memory stays the same
whatever its size: a document longer than MongoDB's own limit (16 MiB) is not held whole but
rejected, its start kept.  A line that is not JSON, or a document the store or the fold cannot use,
is reported with its line number and kept in the store's rejected table, and the rest is imported.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from pyclowder_jobs.tools.quarantine import parse, parse_whole
from pyclowder_jobs.tools.store import Store, admit, rejection

#: How many documents go into one transaction.
BATCH = 2000
#: How many characters of documents go into one transaction at most.
BATCH_CHARACTERS = 16 * 2 ** 20
#: How many refused lines are listed one by one in the summary (all are counted).
LISTED = 20
#: The longest document read whole: MongoDB's limit for one document.
MAX_DOCUMENT = 16 * 2 ** 20
#: How much of a longer document is kept in the rejected table.
KEPT_OF_LONGER = 64 * 2 ** 10
#: Characters read from the file at a time.
CHUNK = 2 ** 20
#: Where a JSON value may still go on past the end of what has been read.
_NEAR_END = 64

_TOKENS = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'["\\]')
_BETWEEN = re.compile(r"[\s,]*")


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


#: (line number, document, its text, why it cannot be stored or read (or None), characters read so far).
Found = Tuple[int, Any, str, Optional[str], int]


class _Window:
    """The part of a text stream being read: at most one document and a chunk, whatever the file's size."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.ended = False
        self._line = 1  # the line number at ``_counted``
        self._counted = 0
        self._consumed = 0  # characters before ``text``

    def fill(self, least: int) -> None:
        """Have at least ``least`` characters from ``pos`` on, unless the stream ends first; what is
        before ``pos`` is let go."""
        self.line_at(self.pos)
        self._consumed += self.pos
        self.text, self.pos, self._counted = self.text[self.pos:], 0, 0
        while not self.ended and len(self.text) < least:
            chunk = self.stream.read(max(CHUNK, least - len(self.text)))
            if chunk:
                self.text += chunk
            else:
                self.ended = True

    def line_at(self, position: int) -> int:
        """The line number at ``position`` (at or after the last one asked for)."""
        self._line += self.text.count("\n", self._counted, position)
        self._counted = position
        return self._line

    def offset(self) -> int:
        """Characters read up to ``pos``."""
        return self._consumed + self.pos

    def skip_past(self, character: str) -> str:
        """Move past the next ``character`` (or to the end); returns up to :data:`KEPT_OF_LONGER` of what
        was skipped before it."""
        kept = ""
        while True:
            found = self.text.find(character, self.pos)
            end = len(self.text) if found < 0 else found
            kept += self.text[self.pos:max(self.pos, min(end, self.pos + KEPT_OF_LONGER - len(kept)))]
            self.pos = end + 1 if found >= 0 else end
            if found >= 0 or self.ended:
                return kept
            self.fill(CHUNK)

    def skip_value(self) -> str:
        """Move past the JSON object, array or string at ``pos`` without holding it whole; returns up to
        :data:`KEPT_OF_LONGER` of it."""
        kept, depth, in_string, escaped = "", 0, False, False
        while True:
            text, start = self.text, self.pos
            position, done = start, False
            while position < len(text):
                if escaped:
                    escaped, position = False, position + 1
                    continue
                token = (_IN_STRING if in_string else _TOKENS).search(text, position)
                if token is None:
                    position = len(text)
                    break
                position, mark = token.end(), token.group()
                if in_string:
                    escaped, in_string = mark == "\\", mark == "\\"
                elif mark == '"':
                    in_string = True
                else:
                    depth += 1 if mark in "{[" else -1
                if depth <= 0 and not in_string:
                    done = True
                    break
            self.pos = position
            kept += text[start:max(start, min(position, start + KEPT_OF_LONGER - len(kept)))]
            if done or self.ended:
                return kept
            self.fill(CHUNK)


def documents(stream: IO[str]) -> Iterator[Found]:
    """Each document of a JSON-lines or JSON-array stream, or the reason it cannot be read."""
    window = _Window(stream)
    window.fill(CHUNK)
    window.pos = _BETWEEN.match(window.text).end()
    while window.pos == len(window.text) and not window.ended:  # white space only, so far
        window.fill(CHUNK)
        window.pos = _BETWEEN.match(window.text).end()
    if window.text[window.pos:window.pos + 1] == "[":
        window.pos += 1
        yield from _array(window)
    else:
        yield from _lines(window)


def _lines(window: _Window) -> Iterator[Found]:
    """The documents of JSON lines, one a line; blank lines are skipped."""
    while True:
        end = window.text.find("\n", window.pos)
        have = (len(window.text) if end < 0 else end) - window.pos
        if have > MAX_DOCUMENT:
            number = window.line_at(window.pos)
            yield number, None, window.skip_past("\n"), _too_long(), window.offset()
            continue
        if end < 0 and not window.ended:
            window.fill(have + CHUNK)
            continue
        if end < 0:
            end = len(window.text)
            if window.pos >= end:
                return
        number = window.line_at(window.pos)
        line = window.text[window.pos:end]
        window.pos = end + 1
        if not line.strip():
            continue
        try:
            document, reason = parse_whole(line)
        except (ValueError, RecursionError) as exc:
            yield number, None, line, _not_json(exc), window.offset()
            continue
        yield number, document, line, reason, window.offset()


def _array(window: _Window) -> Iterator[Found]:
    """The elements of a JSON array, one by one, so that a bad one does not lose the others."""
    while True:
        window.pos = _BETWEEN.match(window.text, window.pos).end()
        have = len(window.text) - window.pos
        if not have:
            if window.ended:
                return
            window.fill(CHUNK)
            continue
        if window.text[window.pos] == "]":
            return
        try:
            document, end, reason = parse(window.text, window.pos)
        except (ValueError, RecursionError) as exc:
            if not _may_go_on(window, exc):
                number = window.line_at(window.pos)
                yield number, None, window.skip_past("\n"), _not_json(exc), window.offset()  # on with the next line
            elif have > MAX_DOCUMENT:
                number = window.line_at(window.pos)
                yield number, None, window.skip_value(), _too_long(), window.offset()
            else:
                window.fill(2 * have + CHUNK)
            continue
        if end >= len(window.text) and not window.ended:  # a number may go on in what is not read yet
            if have > MAX_DOCUMENT:
                number = window.line_at(window.pos)
                yield number, None, window.skip_past("\n"), _too_long(), window.offset()
            else:
                window.fill(2 * have + CHUNK)
            continue
        number = window.line_at(window.pos)
        text = window.text[window.pos:end]
        window.pos = end
        if len(text) > MAX_DOCUMENT:
            yield number, None, text[:KEPT_OF_LONGER], _too_long(), window.offset()
        else:
            yield number, document, text, reason, window.offset()


def _may_go_on(window: _Window, error: BaseException) -> bool:
    """Whether a value that could not be parsed may just not have been read whole yet."""
    if window.ended or not isinstance(error, json.JSONDecodeError):
        return False
    return error.pos >= len(window.text) - _NEAR_END or error.msg.startswith("Unterminated string")


def _too_long() -> str:
    return "longer than %d MiB, MongoDB's limit for a document: its first %d kB are kept" % (
        MAX_DOCUMENT // 2 ** 20, KEPT_OF_LONGER // 2 ** 10)


def _not_json(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "JSON nested too deeply to read"
    return "not JSON (%s)" % _first_line(error)


def import_file(store: Store, path: Union[str, os.PathLike], *,
                progress: Optional[Callable[[int, int], None]] = None) -> ImportSummary:
    """Import one export file into ``store``; ``progress(bytes read, total bytes)`` after each batch."""
    summary = ImportSummary()
    total = os.path.getsize(path)
    name = os.path.basename(os.fspath(path))
    _read(store, path, summary, progress, total, name)
    if progress is not None:
        progress(total, total)
    return summary


def _read(store: Store, path: Union[str, os.PathLike], summary: ImportSummary,
          progress: Optional[Callable[[int, int], None]], total: int, name: str) -> None:
    """Read the file's documents into ``store`` a batch at a time."""
    batch = _Batch()
    with open(path, encoding="utf-8-sig", errors="replace") as stream:
        for number, document, text, reason, offset in documents(stream):
            summary.read += 1
            row, refusal = (None, rejection(text, reason)) if document is None else admit(document, text, reason)
            if refusal is not None:
                key, why, kept = refusal
                summary.refuse(number, why)
                batch.refused.append((key, "line %d of %s: %s" % (number, name, why), kept))
            else:
                batch.add(row, len(text))
            if batch.full():
                batch.commit(store, summary)
                if progress is not None:
                    progress(min(offset, total), total)
        batch.commit(store, summary)


class _Batch:
    """The rows and rejected documents of one transaction."""

    def __init__(self) -> None:
        self.rows: List[tuple] = []
        self.refused: List[tuple] = []
        self.characters = 0

    def add(self, row: tuple, characters: int) -> None:
        self.rows.append(row)
        self.characters += characters

    def full(self) -> bool:
        return len(self.rows) + len(self.refused) >= BATCH or self.characters >= BATCH_CHARACTERS

    def commit(self, store: Store, summary: ImportSummary) -> None:
        if self.rows or self.refused:
            new = store.add_prepared(self.rows, refused=self.refused, source="import")
            summary.imported += new
            summary.duplicates += len(self.rows) - new
            self.rows, self.refused, self.characters = [], [], 0


def _first_line(error: BaseException) -> str:
    """The decoder's message without its position (the line number says where)."""
    return getattr(error, "msg", None) or str(error).splitlines()[0] or type(error).__name__


def describe(summary: ImportSummary) -> Dict[str, Any]:
    """The summary as JSON-ready data."""
    return {"read": summary.read, "imported": summary.imported, "duplicates": summary.duplicates,
            "refused": summary.refused_count, "reasons": dict(summary.reasons),
            "refused_lines": [{"line": line, "reason": reason} for line, reason in summary.refused]}
