"""Times on the wire and in stored events: the writer's two formats and the reader of every format.

Writers (``docs/wire.rst``): a status reply's ``start`` is UTC to the second with a ``+00:00``
offset, as both Clowder servers parse it; every time inside ``tracking`` is UTC to the
millisecond with a ``Z``.  Readers take any of the times stored events carry (``docs/fold.rst``):
datetimes (naive ones are UTC, as pymongo returns them), ISO 8601 texts with or without an offset,
Mongo extended JSON's ``{"$date": ...}``, and seconds since the epoch.  Inside the library every
time is an ``int`` of milliseconds since the epoch, UTC.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional, Tuple, Union

UTC = timezone.utc
_SECONDS_MEMO_SIZE = 4096
_EPOCH_NAIVE = datetime(1970, 1, 1)
_UNIX_DAY_ONE = _EPOCH_NAIVE.toordinal()
_MS = timedelta(milliseconds=1)
#: The earliest and latest moments a datetime can show, in milliseconds: readers refuse the rest.
MIN_MS = (datetime(1, 1, 1) - _EPOCH_NAIVE) // _MS
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000) - _EPOCH_NAIVE) // _MS

When = Union[datetime, str, int, float, None]


# -- writing -------------------------------------------------------------------------------------

#: The last whole second formatted, and its text.  Speed: events come many to a second, so the
#: two writers below format a second only when it is not this one.
_last_second: Tuple[int, str] = (-1, "")


def _utc_second(second: int) -> str:
    """``2026-11-22T11:04:26`` for a whole second, remembered as the last one formatted."""
    global _last_second
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    _last_second = (second, text)
    return text


def utc_seconds(timestamp: float) -> str:
    """``2026-11-22T11:04:26+00:00``: the ``start`` field of a status reply."""
    second = int(timestamp)
    cached, text = _last_second
    return (text if cached == second else _utc_second(second)) + "+00:00"


def utc_millis(timestamp: float) -> str:
    """``2026-11-22T11:04:26.123Z``: every time inside ``tracking``."""
    second, millis = divmod(int(timestamp * 1000), 1000)
    cached, text = _last_second
    return "%s.%03dZ" % (text if cached == second else _utc_second(second), millis)


#: Days already written by :func:`ms_to_iso`.  Speed: the time of day is worked out with integer
#: arithmetic and only the date is formatted, once a day: ``tree()`` of 100,000 jobs makes some
#: 700,000 of these texts (1.6 against 5.2 us each with ``strftime``, measured on 100,000 times
#: spread over 30 days).  Cleared when full.
_iso_days: Dict[int, str] = {}


def ms_to_iso(ms: int) -> str:
    """``2019-03-14T15:00:00.412Z``: ISO 8601, UTC, milliseconds (every time the fold hands out)."""
    days, rest = divmod(ms, 86400000)
    day = _iso_days.get(days)
    if day is None:
        day = "%04d-%02d-%02d" % (_EPOCH_NAIVE + timedelta(days=days)).timetuple()[:3]
        if len(_iso_days) >= _SECONDS_MEMO_SIZE:
            _iso_days.clear()
        _iso_days[days] = day
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return "%sT%02d:%02d:%02d.%03dZ" % (day, hour, minute, second, millis)


def ms_to_datetime(ms: int) -> datetime:
    """An aware UTC datetime of milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return int(time.time() * 1000)


# -- reading -------------------------------------------------------------------------------------

def to_ms(value: Any) -> Optional[int]:
    """Milliseconds since the epoch of a datetime, ISO text, ``{"$date": ...}`` or seconds; else None.

    Naive datetimes and texts without an offset are UTC (pymongo's datetimes, pyClowder 1.x).
    Moments a datetime cannot show (before year 1, after 9999) are None.
    """
    kind = type(value)
    if kind is str:
        return iso_ms(value)
    if kind is dict:
        value = value.get("$date")
        kind = type(value)
        if kind is dict:
            value = value.get("$numberLong")
            try:
                value = int(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
                return None
            kind = int
        if kind is int:  # extended JSON: milliseconds
            return value if MIN_MS <= value <= MAX_MS else None
        if kind is str:
            return iso_ms(value)
        return None
    if isinstance(value, datetime):
        try:
            found = datetime_ms(value)
        except Exception:  # a tzinfo whose utcoffset is broken: a bad event, not a crash
            return None
        return found if MIN_MS <= found <= MAX_MS else None
    if kind is int or kind is float:
        try:
            found = round(value * 1000)
        except (OverflowError, ValueError):  # infinity, NaN
            return None
        return found if MIN_MS <= found <= MAX_MS else None
    return None


#: Seconds already parsed from millisecond UTC texts (``2019-03-14T15:00:00``), with their ms.
#: Speed: most stored times are such texts, many to a second; a memo turns the parse of one
#: into two dict look-ups (benchmarks/bench_fold.py reads half a million).  Cleared when full.
_seconds: Dict[str, int] = {}
_MILLIS = {"%03d" % millis: millis for millis in range(1000)}
_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def iso_ms(text: str) -> Optional[int]:
    """Milliseconds since the epoch of an ISO 8601 text (UTC unless it says otherwise), else None."""
    if len(text) == 24 and text[23] == "Z" and text[19] == ".":
        millis = _MILLIS.get(text[20:23])
        if millis is not None:
            base = _seconds.get(text[:19])
            if base is not None:
                return base + millis
            found = _parse_iso_ms(text)
            if found is not None and _SECOND.fullmatch(text, 0, 19):
                if len(_seconds) >= _SECONDS_MEMO_SIZE:
                    _seconds.clear()
                _seconds[text[:19]] = found - millis
            return found
    return _parse_iso_ms(text)


def _parse_iso_ms(text: str) -> Optional[int]:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is UTC:
        return round(moment.timestamp() * 1000)  # the cheapest way, and the common case
    found = datetime_ms(moment)
    return found if MIN_MS <= found <= MAX_MS else None  # 9999-12-31T23:00-05:00 is past 9999


def datetime_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a datetime (naive ones are UTC), from its fields."""
    ms = (((moment.toordinal() - _UNIX_DAY_ONE) * 86400 + moment.hour * 3600 + moment.minute * 60
           + moment.second) * 1000 + moment.microsecond // 1000)
    if moment.tzinfo is not None:
        offset = moment.utcoffset()
        if offset:
            ms -= offset.days * 86400000 + offset.seconds * 1000 + offset.microseconds // 1000
    return ms


def when_ms(when: When) -> int:
    """Milliseconds of a moment a caller gives (datetime, ISO text, ms as int); None is now.

    Raises ValueError naming the value when it is not a time.
    """
    if when is None:
        return now_ms()
    if type(when) is int:
        return when
    found = to_ms(when)
    if found is None:
        raise ValueError("not a time: %r (give an ISO 8601 time such as 2024-05-01T12:00:00Z)" % (when,))
    return found


def timedelta_ms(delta: timedelta) -> int:
    """A timedelta in whole milliseconds."""
    return delta.days * 86400000 + delta.seconds * 1000 + delta.microseconds // 1000
