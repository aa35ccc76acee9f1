"""The two ways in: ``group_events`` for a batch, ``JobIndex`` for a live stream.

Both normalise, drop duplicates, sort (DESIGN 5.5 rule 2) and fold; so for the same events they
give the same jobs, whatever the order of arrival.
"""
import reprlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, List, Optional, Set, Union

from .collector import collections_paused
from .events import (CONTENT, IDKEY, SEQ, TS, Heartbeat, Record, identity, normalise,
                     status_reply)
from ..protocol.times import to_ms
from .fold import Fold
from .jobs import JobList, Rejected

#: A longer silence on one resource and extractor starts a new synthetic job (rule 4).
DEFAULT_MAX_GAP = timedelta(hours=24)
#: An unfinished job with no heartbeats to judge it by is ``stale`` after this long without events.
DEFAULT_STALE_AFTER = timedelta(hours=6)

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_REPR_LIMIT = 200


def group_events(events: Iterable[Any], *, heartbeats: Iterable[Any] = (),
                 now: Optional[datetime] = None, max_gap: timedelta = DEFAULT_MAX_GAP,
                 stale_after: timedelta = DEFAULT_STALE_AFTER) -> JobList:
    """Group stored extraction events (any mix of shapes) and heartbeats into jobs as of ``now``.

    Returns a :class:`JobList` of :class:`Job`, oldest first; its ``rejected`` lists what could
    not be used and why, its ``ignored`` counts log lines.  Never raises on a bad event.
    """
    now_ms = _now_ms(now)
    with collections_paused():
        inputs = _Inputs()
        records, seen, take = inputs.records, inputs.seen, inputs.take
        for position, event in enumerate(events):
            if type(event) is dict and "extractor_id" in event:  # the common case, inline
                found = status_reply(event)
            else:
                found = normalise(event)
            if type(found) is tuple:  # events.identity, inline
                key = found[IDKEY] if found[SEQ] < 0 and found[IDKEY] else found[TS:CONTENT + 1]
                if key not in seen:
                    seen.add(key)
                    records.append(found)
            else:
                take(found, position, event)
        for position, beat in enumerate(heartbeats):
            take(normalise(beat), "heartbeats[%d]" % position, beat)
        seen.clear()  # no more events: the fold reuses the memory of the duplicate check
        records.sort()
        fold = Fold(_ms(max_gap))
        fold.feed_all(records)
        jobs = fold.finish(inputs.heartbeats, now_ms, _ms(stale_after), final=True)
        return JobList(jobs, inputs.rejected, inputs.ignored)


class JobIndex:
    """An incremental fold for live consumers: ``add`` events as they come, ask for ``jobs()``.

    Events that arrive in order are folded at once; one that arrives out of order makes the next
    ``jobs()`` fold everything again from the sorted events, so any arrival order gives the same
    jobs as :func:`group_events`.
    """

    def __init__(self, *, max_gap: timedelta = DEFAULT_MAX_GAP,
                 stale_after: timedelta = DEFAULT_STALE_AFTER):
        self._max_gap = _ms(max_gap)
        self._stale_after = _ms(stale_after)
        self._inputs = _Inputs()
        self._fold = Fold(self._max_gap)
        self._last: Optional[Record] = None
        self._refold = False
        self._added = 0

    @property
    def rejected(self) -> List[Rejected]:
        """The events that could not be used, with reasons."""
        return self._inputs.rejected

    @property
    def ignored(self) -> int:
        """How many log lines were skipped (they are not statuses)."""
        return self._inputs.ignored

    def add(self, event: Any) -> bool:
        """Take one event or heartbeat; False if it was rejected, ignored or a duplicate."""
        inputs = self._inputs
        position = self._added
        self._added += 1
        if type(event) is dict and "extractor_id" in event:  # the common case, as in group_events
            found = status_reply(event)
        else:
            found = normalise(event)
        if type(found) is tuple:  # the common case: one status event; inputs.take, inline
            key = found[IDKEY] if found[SEQ] < 0 and found[IDKEY] else found[TS:CONTENT + 1]
            if key in inputs.seen:
                return False
            inputs.seen.add(key)
            inputs.records.append(found)
            self._fold_new(found)
            return True
        before = len(inputs.records)
        taken = inputs.take(found, position, event)
        for record in inputs.records[before:]:
            self._fold_new(record)
        return taken

    def _fold_new(self, record: Record) -> None:
        if self._refold:
            return
        if self._last is None or record > self._last:
            self._fold.feed(record)
            self._last = record
        else:
            self._refold = True

    def add_many(self, events: Iterable[Any]) -> None:
        """Take several events or heartbeats."""
        for event in events:
            self.add(event)

    def jobs(self, now: Optional[datetime] = None) -> JobList:
        """The jobs as of ``now`` (default: the current UTC time)."""
        inputs = self._inputs
        now_ms = _now_ms(now)
        with collections_paused():  # a batch, as in group_events
            if self._refold:
                inputs.records.sort()
                self._fold = Fold(self._max_gap)
                self._fold.feed_all(inputs.records)
                self._last = inputs.records[-1]
                self._refold = False
            jobs = self._fold.finish(inputs.heartbeats, now_ms, self._stale_after)
            return JobList(jobs, inputs.rejected, inputs.ignored)


class _Inputs:
    """What normalising produced: records, heartbeats, rejections, the count of ignored lines."""

    __slots__ = ("records", "seen", "heartbeats", "beats_seen", "rejected", "ignored")

    def __init__(self):
        self.records: List[Record] = []
        self.seen: Set[Any] = set()
        self.heartbeats: List[Heartbeat] = []
        self.beats_seen: Set[Heartbeat] = set()
        self.rejected: List[Rejected] = []
        self.ignored = 0

    def take(self, found: Any, position: Union[int, str], event: Any) -> bool:
        """Keep anything normalise returned; True if it was new and usable."""
        if type(found) is tuple:
            key = identity(found)
            if key in self.seen:
                return False
            self.seen.add(key)
            self.records.append(found)
            return True
        if type(found) is list:
            return any([self.take(record, position, event) for record in found])
        if isinstance(found, Heartbeat):
            if found in self.beats_seen:
                return False
            self.beats_seen.add(found)
            self.heartbeats.append(found)
            return True
        if found is None:
            self.ignored += 1
            return False
        self.rejected.append(Rejected(position, found, _describe(event)))
        return False


def _describe(event: Any) -> str:
    try:
        text = _short.repr(event)
    except Exception:  # a repr that raises must not make the fold raise
        text = "<%s>" % type(event).__name__
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def _ms(delta: timedelta) -> int:
    return delta.days * 86400000 + delta.seconds * 1000 + delta.microseconds // 1000


def _now_ms(now: Optional[datetime]) -> int:
    if now is None:
        now = datetime.now(timezone.utc)
    found = to_ms(now)
    if found is None:
        raise TypeError("now must be a datetime, not %s" % type(now).__name__)
    return found
