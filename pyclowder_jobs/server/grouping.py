"""The two ways in: ``group_events`` for a batch, ``JobIndex`` for a live stream.

Both read every input with :func:`~pyclowder_jobs.server.readers.normalise`, keep each event once
(``_Inputs.take``; ``docs/fold.rst``, "Duplicates"), sort (rule 2) and fold; so for the same events
they give the same jobs, whatever the order of arrival.
"""
import reprlib
from datetime import datetime, timedelta, timezone
from typing import Any, Hashable, Iterable, Iterator, List, Optional, Set, Union

from ..protocol.identity import event_key
from ..protocol.times import timedelta_ms, to_ms
from .fold import EventFields, Fold
from .jobs import JobList, Rejected
from .readers import normalise
from .records import Heartbeat, StatusEvent

#: A longer silence on one resource and extractor starts a new synthetic job (``docs/fold.rst``, rule 4).
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
    inputs = _Inputs()
    take = inputs.take
    for position, event in enumerate(events):
        take(normalise(event), position, event)
    for position, beat in enumerate(heartbeats):
        take(normalise(beat), "heartbeats[%d]" % position, beat)
    inputs.seen.clear()  # no more events: the fold reuses the memory of the duplicate check
    records = inputs.records
    records.sort(reverse=True)  # last first, so that _drained hands them on first first
    fold = Fold(timedelta_ms(max_gap))
    fold.feed_all(_drained(records))
    jobs = fold.finish(inputs.heartbeats, now_ms, timedelta_ms(stale_after), final=True)
    return JobList(jobs, inputs.rejected, inputs.ignored)


class JobIndex:
    """An incremental fold for live consumers: ``add`` events as they come, ask for ``jobs()``.

    ``jobs()`` folds what came since the last call: at once, when it all sorts after what was
    folded before (the usual case); else everything again from the sorted events.  So any arrival
    order gives the same jobs as :func:`group_events`.
    """

    def __init__(self, *, max_gap: timedelta = DEFAULT_MAX_GAP,
                 stale_after: timedelta = DEFAULT_STALE_AFTER):
        self._max_gap = timedelta_ms(max_gap)
        self._stale_after = timedelta_ms(stale_after)
        self._inputs = _Inputs()
        self._fold = Fold(self._max_gap)
        self._folded = 0  # how many of the kept events the fold has
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
        taken = self._inputs.take(normalise(event), self._added, event)
        self._added += 1
        return taken

    def add_many(self, events: Iterable[Any]) -> None:
        """Take several events or heartbeats."""
        for event in events:
            self.add(event)

    def jobs(self, now: Optional[datetime] = None) -> JobList:
        """The jobs as of ``now`` (default: the current UTC time)."""
        inputs = self._inputs
        now_ms = _now_ms(now)
        records = inputs.records
        if self._folded < len(records):
            new = records[self._folded:]
            new.sort()
            if self._folded and new[0] < records[self._folded - 1]:  # an event came late: fold all again
                records.sort()
                self._fold = Fold(self._max_gap)
                self._fold.feed_all(records)
            else:
                records[self._folded:] = new
                self._fold.feed_all(new)
            self._folded = len(records)
        jobs = self._fold.finish(inputs.heartbeats, now_ms, self._stale_after)
        return JobList(jobs, inputs.rejected, inputs.ignored)


class _Inputs:
    """What the readers gave: status events, heartbeats, rejections, the count of ignored lines."""

    __slots__ = ("records", "seen", "heartbeats", "beats_seen", "rejected", "ignored")

    def __init__(self):
        self.records: List[EventFields] = []
        self.seen: Set[Hashable] = set()
        self.heartbeats: List[Heartbeat] = []
        self.beats_seen: Set[Heartbeat] = set()
        self.rejected: List[Rejected] = []
        self.ignored = 0

    def take(self, found: Any, position: Union[int, str], event: Any) -> bool:
        """Keep what a reader gave, each status event and heartbeat once; True if it was new and usable.

        A status event is kept by its :meth:`~StatusEvent.key` (``docs/fold.rst``, "Duplicates"), as
        a plain tuple of its fields.  Speed: the garbage collector stops tracking a tuple of plain
        values the first time it sees one, a named tuple never, and goes through every tracked one
        in each full collection: keeping the named records, group_events folded bench_fold.py's
        stream of 200,000 events at 128,000 instead of 141,000 events/s (best of 9 runs).
        """
        if type(found) is StatusEvent:
            key = event_key(found.id_key, found.seq, found.ts, found.content)  # found.key(), a call less
            if key in self.seen:
                return False
            self.seen.add(key)
            self.records.append(found[:])
            return True
        if type(found) is list:
            return any([self.take(record, position, event) for record in found])
        if type(found) is Heartbeat:
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


def _drained(records: List[EventFields]) -> Iterator[EventFields]:
    """The events of a list sorted last first, first first, each taken out of the list as it is handed on.

    Speed: an event's memory is freed as soon as it is folded, and the list that the garbage
    collector goes through in each full collection shrinks as the fold goes on: on bench_fold.py's
    stream of 200,000 events, group_events allocates at most 62 instead of 86 MiB, and ran at
    176,000 against 159,000 events/s (best of 12 runs).
    """
    pop = records.pop
    while records:
        yield pop()


def _describe(event: Any) -> str:
    try:
        text = _short.repr(event)
    except Exception:  # a repr that raises must not make the fold raise
        text = "<%s>" % type(event).__name__
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def _now_ms(now: Optional[datetime]) -> int:
    if now is None:
        now = datetime.now(timezone.utc)
    found = to_ms(now)
    if found is None:
        raise TypeError("now must be a datetime, not %s" % type(now).__name__)
    return found
