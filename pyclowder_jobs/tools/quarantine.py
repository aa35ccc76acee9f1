"""What the tools refuse to store or fold, and why: the checks at the store's door.

A document is refused when a value in it cannot be kept and shown as it is everywhere downstream:
a string with a lone surrogate (UTF-8, so SQLite and every page, cannot hold it), an integer beyond
SQLite's 64 bits, NaN or Infinity (JSON has no way to write them, so the page and the API could not
send a job that holds one), or nesting deeper than :data:`MAX_DEPTH`.  A refused document is kept
whole in the store's rejected table with the reason (``docs/reliability.rst``), never dropped, and never
stops the batch around it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, List, Optional, Tuple, Union

#: How deep a document may nest (a tap event nests three levels; a stored document five).
MAX_DEPTH = 64
#: SQLite's integers.
LOWEST, HIGHEST = -2 ** 63, 2 ** 63 - 1
#: How much of a refused value a reason quotes.
QUOTED = 40

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SPACE = re.compile(r"[ \t\n\r]*")


class _Suspect(Exception):
    """Parsing met a number or constant that :func:`problem` may refuse."""


def _int(text: str) -> int:
    if len(text) > 18:
        raise _Suspect
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf or nan
        raise _Suspect
    return value


def _constant(name: str) -> Any:
    raise _Suspect


_checking = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)
_plain = json.JSONDecoder()


def parse(text: str, start: int = 0) -> Tuple[Any, int, Optional[str]]:
    """The JSON value at ``start`` in ``text`` (after white space): (value, where it ends, the reason
    it cannot be stored, or None).  Raises ValueError or RecursionError where there is no JSON value.

    Speed: the recorder parses every tap event this way.  The numbers and constants are checked
    while the text is parsed, the strings and the nesting by searching the text, and the parsed
    value is walked only when one of them may be refused: 1.2 to 2.1 us more than ``json.loads``
    for a 480-byte tap event, where walking it costs 9 to 17 us (three runs on a busy 2-core machine).
    """
    start = _SPACE.match(text, start).end()
    try:
        value, end = _checking.raw_decode(text, start)
    except _Suspect:
        value, end = _plain.raw_decode(text, start)
        return value, end, problem(value)
    if (_SURROGATE_ESCAPE.search(text, start, end) is not None
            or text.count("{", start, end) + text.count("[", start, end) > MAX_DEPTH):
        return value, end, problem(value)
    return value, end, None


def parse_whole(text: str) -> Tuple[Any, Optional[str]]:
    """Like :func:`parse` for a text that holds one JSON value and nothing else: (value, reason or None)."""
    value, end, reason = parse(text)
    end = _SPACE.match(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    if reason is None and not text.isascii() and _SURROGATE.search(text) is not None:
        reason = problem(value)  # a text made in Python, not decoded from bytes, may hold raw surrogates
    return value, reason


def problem(document: Any) -> Optional[str]:
    """Why ``document`` (parsed JSON) cannot be stored, naming the value and where it is; None when it can."""
    if _storable(document):
        return None
    stack: List[Tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        kind = type(value)
        if kind is str:
            if _SURROGATE.search(value):
                return "%s holds a lone surrogate (%s), which UTF-8 cannot store" % (
                    _where(path), ascii(_SURROGATE.search(value).group()))
        elif kind is int:
            if not LOWEST <= value <= HIGHEST:
                return "%s holds the integer %s, beyond SQLite's 64 bits" % (_where(path), _quote(str(value)))
        elif kind is float:
            if not math.isfinite(value):
                return "%s holds %r, which JSON cannot carry" % (_where(path), value)
        elif kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                return "%s nests deeper than %d levels" % (_where(path), MAX_DEPTH)
            if kind is dict:
                for key, item in value.items():
                    if type(key) is str and _SURROGATE.search(key):
                        return "a key in %s holds a lone surrogate (%s), which UTF-8 cannot store" % (
                            _where(path), ascii(_SURROGATE.search(key).group()))
                    stack.append((item, "%s.%s" % (path, _quote(str(key), 24)) if path else _quote(str(key), 24),
                                  depth + 1))
            else:
                stack.extend((item, "%s[%d]" % (path, index), depth + 1) for index, item in enumerate(value))
    return None


def _storable(document: Any) -> bool:
    """True when :func:`problem` has nothing to say of ``document``.

    Speed: most documents are fine, and this walk builds no paths for reasons it will not give,
    and looks for surrogates only in texts that are not ASCII: 4 against 28 us a tap event.
    """
    stack: List[Tuple[Any, int]] = [(document, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and _SURROGATE.search(value):
                return False
        elif kind is int:
            if not LOWEST <= value <= HIGHEST:
                return False
        elif kind is float:
            if value - value != 0:  # inf or nan
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, item in value.items():
                if type(key) is str and not key.isascii() and _SURROGATE.search(key):
                    return False
                push((item, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            for item in value:
                push((item, depth + 1))
    return True


def storable_text(raw: Union[str, bytes, bytearray]) -> str:
    """``raw`` as text that SQLite can always store: bytes that are not UTF-8, and lone surrogates,
    are kept as backslash escapes (``\\xff``, ``\\ud800``)."""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", "backslashreplace")
    if not isinstance(raw, str):
        raw = repr(raw)
    try:
        raw.encode("utf-8")
        return raw
    except UnicodeEncodeError:
        return raw.encode("utf-8", "backslashreplace").decode("utf-8")


def _where(path: str) -> str:
    return "the field %s" % _quote(path, 60) if path else "the document"


def _quote(text: str, most: int = QUOTED) -> str:
    return text if len(text) <= most else text[:most] + "..."
